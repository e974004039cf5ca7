"""The torch networks (needs ``pip install 'hybridcodec[train]'``): ComCNN/RecCNN and their
gain units, the decoder-side modules, the deformable residual module, waifu2x's upconv_7, model
files and the ONNX export. The codec core beside this package never imports it at load: shipped
models run from their ONNX form (``hybridcodec.runtime``)."""
