#!/usr/bin/env python3
"""Writes env/models/<name>.json, the block graphs of the six ARM-CO-UP networks.

Why a generator: the layer lists are long and repetitive (inception modules, fire modules,
residual units); writing them by hand invites index mistakes. The JSON it writes is what the
C++ loader (policies/model.cpp) reads and validates; the generator itself is never run by the
build. Run:  python3 env/models/generate.py   (from the repo root or anywhere).

Layer lists follow the ARM Compute Library graph examples (examples/graph_<net>.cpp, v21.02,
as used by the ARM-CO-UP forks); block cuts follow the Attach_Layer() calls / end_tasks tables of
Ehsan-aghapour/ARMCL-pipe-all examples/NPU/graph_<net>_n_pipe_npu.cpp and the per-block node
lists printed in CO-UP-Profiling Profiling/Data/Layers/time_MobileV1_*.txt. See docs/models.md.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


class Net:
    def __init__(self, name, aliases, input_chw, source):
        self.name, self.aliases, self.input, self.source = name, aliases, input_chw, source
        self.layers, self.blocks, self.groupings = [], [], []
        self._block_start = 0

    def add(self, name, op, inputs=None, **kw):
        """Appends a layer; inputs=None means 'the previous layer'. Returns its index."""
        layer = {"name": name, "op": op}
        if inputs is not None:
            layer["inputs"] = inputs
        layer.update(kw)
        self.layers.append(layer)
        return len(self.layers) - 1

    def last(self):
        return len(self.layers) - 1

    def cut(self, name):
        """Closes the current block after the last added layer."""
        end = len(self.layers)
        assert end > self._block_start, name
        self.blocks.append({"name": name, "first": self._block_start, "end": end})
        self._block_start = end

    def grouping(self, name, used_by, end):
        assert end[-1] == len(self.blocks), (self.name, name, end[-1], len(self.blocks))
        self.groupings.append({"name": name, "used_by": used_by, "end": end})

    def identity(self, name, used_by):
        self.grouping(name, used_by, list(range(1, len(self.blocks) + 1)))

    def write(self):
        assert self._block_start == len(self.layers), self.name + ": layers after the last cut"
        c, h, w = self.input
        out = [
            "{",
            f'  "name": {json.dumps(self.name)},',
            f'  "aliases": {json.dumps(self.aliases)},',
            f'  "source": {json.dumps(self.source)},',
            f'  "input": {{"c": {c}, "h": {h}, "w": {w}}},',
            '  "layers": [',
        ]
        # One layer per line, prefixed by its index in a comment-free way (the name), so the
        # file stays readable and diffs stay small.
        out.append(",\n".join("    " + json.dumps(l) for l in self.layers))
        out.append("  ],")
        out.append('  "blocks": [')
        out.append(",\n".join("    " + json.dumps(b) for b in self.blocks))
        out.append("  ],")
        out.append('  "groupings": [')
        out.append(",\n".join("    " + json.dumps(g) for g in self.groupings))
        out.append("  ]")
        out.append("}")
        with open(os.path.join(HERE, self.name + ".json"), "w") as f:
            f.write("\n".join(out) + "\n")


def conv(n, name, out, k, s=1, p=None, act="relu", inputs=None, groups=1):
    if p is None:
        p = k // 2
    op = "pwconv" if k == 1 and groups == 1 else "conv"
    kw = {"out_channels": out, "kernel": k, "stride": s, "pad": p}
    if groups != 1:
        kw["groups"] = groups
    if act:
        kw["activation"] = act
    return n.add(name, op, inputs, **kw)


def maxpool(n, name, k, s, p=0, ceil=False, inputs=None):
    kw = {"kernel": k, "stride": s, "pad": p}
    if ceil:
        kw["ceil"] = True
    return n.add(name, "maxpool", inputs, **kw)


# ----------------------------------------------------------------------------------------------
def alexnet():
    n = Net("alexnet", ["Alex", "alex", "AlexNet"], (3, 227, 227),
            "ARM-CL examples/graph_alexnet.cpp (BVLC Caffe AlexNet, grouped conv2/4/5, 227x227); "
            "8 blocks as in CO-UP-Profiling Profiling/Data/Layers.csv and PipeAll-GA Alex_Xs.csv")
    conv(n, "conv1", 96, 11, 4, 0)
    n.add("norm1", "lrn", kernel=5)
    maxpool(n, "pool1", 3, 2, ceil=True)
    n.cut("conv1")
    conv(n, "conv2", 256, 5, 1, 2, groups=2)
    n.add("norm2", "lrn", kernel=5)
    maxpool(n, "pool2", 3, 2, ceil=True)
    n.cut("conv2")
    conv(n, "conv3", 384, 3)
    n.cut("conv3")
    conv(n, "conv4", 384, 3, groups=2)
    n.cut("conv4")
    conv(n, "conv5", 256, 3, groups=2)
    maxpool(n, "pool5", 3, 2, ceil=True)
    n.cut("conv5")
    n.add("fc6", "fc", out_channels=4096, activation="relu")
    n.cut("fc6")
    n.add("fc7", "fc", out_channels=4096, activation="relu")
    n.cut("fc7")
    n.add("fc8", "fc", out_channels=1000)
    n.add("prob", "softmax")
    n.cut("fc8")
    n.identity("coup8", "rockpi_n10 layers_coup.csv, layers_pelsi.csv, transfers_layer_boundary.csv, "
               "eval_single_pe_Alex.csv, eval_switch_lwdvfs_alex.csv, pipeline_ga_pareto_Alex.csv, "
               "pipeline_single_pe_*.csv; khadas_vim3 layers_parapipe_alex_mobile_res50*.csv, eval_profiling2_Alex.csv")
    n.write()


# ----------------------------------------------------------------------------------------------
def inception(n, prefix, a, b, c, d):
    x = n.last()
    i_a = conv(n, prefix + "/1x1", a, 1, inputs=[x])
    conv(n, prefix + "/3x3_reduce", b[0], 1, inputs=[x])
    i_b = conv(n, prefix + "/3x3", b[1], 3)
    conv(n, prefix + "/5x5_reduce", c[0], 1, inputs=[x])
    i_c = conv(n, prefix + "/5x5", c[1], 5)
    maxpool(n, prefix + "/pool", 3, 1, 1, ceil=True, inputs=[x])
    i_d = conv(n, prefix + "/pool_proj", d, 1)
    return n.add(prefix + "/concat", "concat", [i_a, i_b, i_c, i_d])


def googlenet():
    n = Net("googlenet", ["Google", "google", "GoogleNet"], (3, 224, 224),
            "ARM-CL examples/graph_googlenet.cpp (BVLC Caffe GoogLeNet, 224x224); 13 blocks = "
            "Attach_Layer() cuts of ARMCL-pipe-all examples/NPU/graph_googlenet_n_pipe_npu.cpp "
            "(end_tasks {2,3,6,14,23,31,39,47,55,64,72,81,83}); 11-block CO-UP grouping merges "
            "conv2 reduce+3x3 and inception_5b+classifier")
    conv(n, "conv1/7x7_s2", 64, 7, 2, 3)
    maxpool(n, "pool1/3x3_s2", 3, 2, ceil=True)
    n.add("pool1/norm1", "lrn", kernel=5)
    n.cut("conv1")
    conv(n, "conv2/3x3_reduce", 64, 1)
    n.cut("conv2_reduce")
    conv(n, "conv2/3x3", 192, 3)
    n.add("conv2/norm2", "lrn", kernel=5)
    maxpool(n, "pool2/3x3_s2", 3, 2, ceil=True)
    n.cut("conv2")
    inception(n, "inception_3a", 64, (96, 128), (16, 32), 32)
    n.cut("inception_3a")
    inception(n, "inception_3b", 128, (128, 192), (32, 96), 64)
    maxpool(n, "pool3/3x3_s2", 3, 2, ceil=True)
    n.cut("inception_3b")
    inception(n, "inception_4a", 192, (96, 208), (16, 48), 64)
    n.cut("inception_4a")
    inception(n, "inception_4b", 160, (112, 224), (24, 64), 64)
    n.cut("inception_4b")
    inception(n, "inception_4c", 128, (128, 256), (24, 64), 64)
    n.cut("inception_4c")
    inception(n, "inception_4d", 112, (144, 288), (32, 64), 64)
    n.cut("inception_4d")
    inception(n, "inception_4e", 256, (160, 320), (32, 128), 128)
    maxpool(n, "pool4/3x3_s2", 3, 2, ceil=True)
    n.cut("inception_4e")
    inception(n, "inception_5a", 256, (160, 320), (32, 128), 128)
    n.cut("inception_5a")
    inception(n, "inception_5b", 384, (192, 384), (48, 128), 128)
    n.add("pool5/7x7_s1", "avgpool", **{"global": True})
    n.cut("inception_5b")
    n.add("loss3/classifier", "fc", out_channels=1000)
    n.add("prob", "softmax")
    n.cut("classifier")
    n.identity("pipeall13", "rockpi_n10 pipeline_googlenet_lbgn.csv, pipeline_ga_pareto_Google.csv, "
               "pipeline_single_pe_compare_Google.csv, pipeline_single_pe_5models.csv")
    n.grouping("coup11", "rockpi_n10 layers_coup.csv, layers_pelsi.csv, transfers_layer_boundary.csv, "
               "googlenet_layer_time_per_pe.csv, eval_single_pe_Google.csv, eval_switch_lwdvfs_google.csv; "
               "khadas_vim3 layers_parapipe_inception_run_*.csv, eval_parapipe_*_Google.csv, eval_profiling2_Google.csv",
               [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13])
    n.write()


# ----------------------------------------------------------------------------------------------
def mobilenet_v1():
    n = Net("mobilenet_v1", ["MobileV1", "mobile", "Mobile", "MobileNet", "MobileNetV1"], (3, 224, 224),
            "ARM-CL examples/graph_mobilenet.cpp (TF MobileNet v1 1.0_224, 1001 classes); 28 blocks = "
            "ARMCL-pipe-all examples/NPU/graph_mobilenet_n_pipe_npu.cpp end_tasks "
            "{0..25,27,30}; 14-block CO-UP grouping from CO-UP-Profiling time_MobileV1_*.txt 'Layer Number' lines")
    conv(n, "Conv2d_0", 32, 3, 2, 1, act="relu6")
    n.cut("Conv2d_0")
    spec = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
            (512, 1), (512, 1), (1024, 2), (1024, 1)]
    for i, (out, s) in enumerate(spec, start=1):
        n.add(f"Conv2d_{i}_depthwise", "dwconv", kernel=3, stride=s, pad=1, activation="relu6")
        n.cut(f"Conv2d_{i}_depthwise")
        conv(n, f"Conv2d_{i}_pointwise", out, 1, act="relu6")
        if i == 13:
            n.add("Logits/AvgPool_1a", "avgpool", **{"global": True})
        n.cut(f"Conv2d_{i}_pointwise")
    conv(n, "Logits/Conv2d_1c_1x1", 1001, 1, act=None)
    n.add("Softmax", "softmax")
    n.cut("Logits")
    n.identity("pipeall28", "rockpi_n10 pipeline_ga_pareto_Mobile.csv, pipeline_single_pe_compare_Mobile.csv, "
               "pipeline_single_pe_5models.csv")
    n.grouping("coup14", "rockpi_n10 layers_coup.csv, layers_pelsi.csv, transfers_layer_boundary.csv, "
               "eval_single_pe_MobileV1.csv, eval_switch_lwdvfs_mobile.csv, eval_mobilenet_*.csv, mobilenet_*.csv, "
               "raw/time_MobileV1_*.txt; khadas_vim3 layers_parapipe_alex_mobile_res50*.csv, eval_profiling2_MobileV1.csv",
               [1] + [2 * i + 1 for i in range(1, 13)] + [28])
    n.write()


# ----------------------------------------------------------------------------------------------
def resnet50():
    n = Net("resnet50", ["ResV1_50", "res50", "Res50", "ResNet50"], (3, 224, 224),
            "ARM-CL examples/graph_resnet50.cpp (TF-slim resnet_v1_50: stride 2 in the 3x3 conv of the LAST "
            "unit of blocks 1-3, 1x1 max-pool subsampling shortcut there; 1000 classes); 18 blocks "
            "(conv1+pool, 16 bottleneck units with pool5 in the last, logits) = end_tasks of ARMCL-pipe-all "
            "examples/NPU/graph_resnet50_n_pipe_npu.cpp, as in CO-UP-Profiling and PipeAll-GA Res50_Xs.csv")
    conv(n, "conv1", 64, 7, 2, 3)
    maxpool(n, "pool1", 3, 2, 1)
    n.cut("conv1")
    for b, (depth, units, stride) in enumerate([(64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)], start=1):
        for u in range(units):
            mid = stride if u == units - 1 else 1
            pre = f"block{b}/unit{u + 1}"
            x = n.last()
            if u == 0:
                short = conv(n, pre + "/shortcut", depth * 4, 1, act=None, inputs=[x])
            elif mid > 1:
                short = maxpool(n, pre + "/shortcut", 1, mid, inputs=[x])
            else:
                short = x
            conv(n, pre + "/conv1", depth, 1, inputs=[x])
            conv(n, pre + "/conv2", depth, 3, mid, 1)
            r = conv(n, pre + "/conv3", depth * 4, 1, act=None)
            n.add(pre + "/add", "add", [short, r], activation="relu")
            if b == 4 and u == units - 1:
                # The forks attach pool5 to the last unit (end_tasks ...68, 73, 76 in
                # ARMCL-pipe-all graph_resnet50_n_pipe_npu.cpp), so a cut here sends 2048 floats.
                n.add("pool5", "avgpool", **{"global": True})
            n.cut(pre)
    conv(n, "logits", 1000, 1, act=None)
    n.add("predictions", "softmax")
    n.cut("logits")
    n.identity("coup18", "rockpi_n10 layers_coup.csv, layers_pelsi.csv, transfers_layer_boundary.csv, "
               "eval_single_pe_ResV1_50.csv, eval_switch_lwdvfs_res50.csv, pipeline_ga_pareto_Res50.csv, "
               "pipeline_single_pe_*.csv; khadas_vim3 layers_parapipe_alex_mobile_res50*.csv, eval_profiling2_ResV1_50.csv")
    n.write()


# ----------------------------------------------------------------------------------------------
def squeezenet():
    n = Net("squeezenet", ["SqueezeV1", "squeeze", "Squeeze", "SqueezeNet"], (3, 227, 227),
            "ARM-CL examples/graph_squeezenet.cpp (SqueezeNet v1.0 Caffe, 227x227); 19 blocks = Attach_Layer() "
            "cuts of ARMCL-pipe-all examples/NPU/graph_squeezenet_n_pipe_npu.cpp (squeeze and expand of each "
            "fire module separate); 10-block CO-UP grouping = one block per fire module")
    conv(n, "conv1", 96, 7, 2, 0)
    maxpool(n, "pool1", 3, 2, ceil=True)
    n.cut("conv1")
    fires = [(2, 16, 64), (3, 16, 64), (4, 32, 128), (5, 32, 128), (6, 48, 192), (7, 48, 192),
             (8, 64, 256), (9, 64, 256)]
    for f, sq, ex in fires:
        s = conv(n, f"fire{f}/squeeze1x1", sq, 1)
        n.cut(f"fire{f}/squeeze")
        a = conv(n, f"fire{f}/expand1x1", ex, 1, inputs=[s])
        b = conv(n, f"fire{f}/expand3x3", ex, 3, inputs=[s])
        n.add(f"fire{f}/concat", "concat", [a, b])
        if f in (4, 8):
            maxpool(n, f"pool{f}", 3, 2, ceil=True)
        n.cut(f"fire{f}/expand")
    conv(n, "conv10", 1000, 1)
    n.add("pool10", "avgpool", **{"global": True})
    n.cut("conv10")
    n.add("prob", "softmax")
    n.cut("prob")
    n.identity("pipeall19", "PipeAll-GA Squeeze_Xs.csv (Rock Pi N10 SqueezeNet rows are held out of our copy)")
    n.grouping("coup10", "CO-UP-Profiling Layers.csv SqueezeV1 rows (held out of our copy)",
               [1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
    n.write()


# ----------------------------------------------------------------------------------------------
def yolov3():
    n = Net("yolov3", ["YOLOv3", "yolo", "Yolov3"], (3, 608, 608),
            "ARM-CL examples/graph_yolov3.cpp (darknet YOLOv3, 75 convolutions, batch-norm folded, leaky ReLU 0.1) "
            "at 608x608 as in ARM-CL (the CO-UP input-stage times scale with 608x608 pixels, see docs/models.md); "
            "one block per convolution as in CO-UP-Profiling _Evaluations_YOLOv3.csv; YOLO decode layers omitted")
    k = [0]

    def c(out, ksize, s=1, inputs=None, act="leaky_relu"):
        k[0] += 1
        return conv(n, f"conv2d_{k[0]}", out, ksize, s, ksize // 2, act=act, inputs=inputs)

    def cut():
        n.cut(f"conv2d_{k[0]}")

    c(32, 3); cut()
    routes = []
    for stage, (out, reps) in enumerate([(64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)]):
        c(out, 3, 2); cut()
        for _ in range(reps):
            x = n.last()
            c(out // 2, 1); cut()
            r = c(out, 3)
            n.add(f"shortcut_{k[0]}", "add", [x, r])
            cut()
        if stage in (2, 3):
            routes.append(n.last())

    def head(out, skip_inputs):
        # 1x1/3x3 x2, 1x1 (route), 3x3, 1x1 to 255 (linear).
        c(out, 1, inputs=skip_inputs); cut()
        c(out * 2, 3); cut()
        c(out, 1); cut()
        c(out * 2, 3); cut()
        route = c(out, 1); cut()
        c(out * 2, 3); cut()
        c(255, 1, act=None); cut()
        return route

    route = head(512, None)
    for out, skip in [(256, routes[1]), (128, routes[0])]:
        c(out, 1, inputs=[route])
        n.add(f"upsample_{k[0]}", "upsample", stride=2)
        cut()
        cat = n.add(f"route_{k[0] + 1}", "concat", [n.last(), skip])
        route = head(out, [cat])
    n.identity("coup75", "rockpi_n10 layers_coup.csv, transfers_layer_boundary.csv, eval_single_pe_YOLOv3.csv, "
               "eval_yolov3_*.csv, eval_switch_yolov3_npu.csv; accuracy_yolov3/*.csv layer ranges")
    n.write()


if __name__ == "__main__":
    for f in (alexnet, googlenet, mobilenet_v1, resnet50, squeezenet, yolov3):
        f()
