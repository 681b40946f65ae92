// Unpacks nsfwjs's MobileNetV2 (shipped in the npm package as JS-wrapped TF.js layers files) into plain TF.js files
// (model.json + group1-shard1of1.bin) for the C# converter, and runs the original model with @tensorflow/tfjs on the
// fixture images to record the outputs the converted ONNX model is checked against.
//
//   npm install nsfwjs@4.4.0 @tensorflow/tfjs@4.22.0 pngjs@7     (in a folder outside the repository)
//   node make-reference.cjs <that folder> <images dir> <out dir for the TF.js files> <reference.json to write>
//
// Inputs are the images as they are (224x224 RGB PNG), scaled to 0-1 as nsfwjs scales them (value / 255), NHWC.
'use strict';
const fs = require('fs');
const path = require('path');
const [packages, imagesDir, tfjsOut, referenceOut] = process.argv.slice(2);
if (!referenceOut) { console.error('usage: node make-reference.cjs <node_modules parent> <images> <tfjs out> <reference.json>'); process.exit(2); }
const need = (m) => require(path.join(path.resolve(packages), 'node_modules', m));
const tf = need('@tensorflow/tfjs');
const { PNG } = need('pngjs');
const modelDir = path.join(path.resolve(packages), 'node_modules', 'nsfwjs', 'dist', 'models', 'mobilenet_v2');
const bundle = require(path.join(modelDir, 'model.min.js'));
const shard = Buffer.from(require(path.join(modelDir, 'group1-shard1of1.min.js')), 'base64');

fs.mkdirSync(tfjsOut, { recursive: true });
const manifest = bundle.weightsManifest.map((g) => ({ ...g, paths: ['group1-shard1of1.bin'] }));
fs.writeFileSync(path.join(tfjsOut, 'model.json'), JSON.stringify({ modelTopology: bundle.modelTopology, weightsManifest: manifest }));
fs.writeFileSync(path.join(tfjsOut, 'group1-shard1of1.bin'), shard);

(async () => {
  const weightData = shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: bundle.modelTopology, weightSpecs: bundle.weightsManifest[0].weights, weightData }));
  const results = [];
  for (const file of fs.readdirSync(imagesDir).filter((f) => f.endsWith('.png')).sort()) {
    const png = PNG.sync.read(fs.readFileSync(path.join(imagesDir, file)));
    if (png.width !== 224 || png.height !== 224) throw new Error(`${file} is ${png.width}x${png.height}, not 224x224`);
    const pixels = new Float32Array(224 * 224 * 3);
    for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) pixels[3 * i + c] = png.data[4 * i + c] / 255;
    const output = tf.tidy(() => model.predict(tf.tensor4d(pixels, [1, 224, 224, 3])));
    results.push({ file, probabilities: Array.from(await output.data()) });
    output.dispose();
  }
  fs.writeFileSync(referenceOut, JSON.stringify({
    model: 'nsfwjs 4.4.0 mobilenet_v2', runtime: `@tensorflow/tfjs ${tf.version.tfjs} (${tf.getBackend()} backend)`,
    labels: ['drawing', 'hentai', 'neutral', 'porn', 'sexy'], input: '224x224 RGB, value / 255, NHWC', results,
  }, null, 1) + '\n');
  console.log(`wrote ${results.length} reference outputs to ${referenceOut}`);
})();
