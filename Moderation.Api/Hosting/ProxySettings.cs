using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Moderation.Api.Hosting;

/// <summary>
/// Bound from <c>Moderation:ForwardedHeaders</c>: the reverse proxies (or load balancers) in front of the host, whose
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed. None by default: then the headers are ignored and
/// the connection's own address and scheme count, so nobody can claim another address or HTTPS by sending them (the
/// host then leaves the middleware out: with empty lists ASP.NET Core's would believe anyone).
/// </summary>
public sealed class ProxySettings
{
    public const string Section = "Moderation:ForwardedHeaders";

    /// <summary>Addresses of trusted proxies (e.g. <c>10.0.0.5</c>).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation (e.g. <c>10.0.0.0/8</c>).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies' entries to read from the end of <c>X-Forwarded-For</c> (one per trusted hop).</summary>
    public int ForwardLimit { get; set; } = 1;

    /// <summary>Applies these settings to ASP.NET Core's forwarded-headers middleware; a bad address stops the host naming it.</summary>
    public void Apply(ForwardedHeadersOptions options)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.ForwardLimit = ForwardLimit < 1
            ? throw new InvalidOperationException($"{Section}:ForwardLimit must be at least 1.")
            : ForwardLimit;
        // ASP.NET Core trusts loopback by default; here only what is configured is trusted.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // the obsolete list still holds 127.0.0.0/8 and is still consulted
        options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
        foreach (var proxy in KnownProxies.Where(p => !string.IsNullOrWhiteSpace(p)))
            options.KnownProxies.Add(IPAddress.TryParse(proxy.Trim(), out var address)
                ? address
                : throw new InvalidOperationException($"{Section}:KnownProxies: '{proxy}' is not an IP address."));
        foreach (var network in KnownNetworks.Where(n => !string.IsNullOrWhiteSpace(n)))
            options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network.Trim(), out var parsed)
                ? parsed
                : throw new InvalidOperationException($"{Section}:KnownNetworks: '{network}' is not a network in CIDR notation (e.g. 10.0.0.0/8)."));
    }
}

/// <summary>Bound from <c>Moderation:Hsts</c>: the Strict-Transport-Security header sent on HTTPS responses outside Development.</summary>
public sealed class HstsSettings
{
    public const string Section = "Moderation:Hsts";

    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(365);
    public bool IncludeSubDomains { get; set; }
    public bool Preload { get; set; }
}
