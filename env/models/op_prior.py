#!/usr/bin/env python3
"""Writes env/platforms/rockpi_n10.op_prior.json: the external prior of the op-level predictor
for the Rock Pi N10 NPU (docs/simulator.md §10, "NPU prior").

Why: only MobileNetV1 and YOLOv3 have NPU profiles, so every leave-one-model-out fold of the NPU
fits on ONE model and cannot tell the efficiency of depthwise/pointwise from dense convolution.
The RKNN model zoo lists whole-model FPS on the RK1808, whose NPU is the one of the RK3399Pro
(same 3-TOPS RKNPU generation, RKNN-Toolkit 1). Only the RATIO of two rows is used
(t(resnet50-v2-7) / t(mobilenetv2-12)), so int8 vs our fp16/int8 runtime and the zoo's
single-invocation timing cancel to first order. The RK1808-is-RK3399Pro's-NPU statement is an
assumption from Rockchip's product pages, not from a file in ../shared/calibration.

Rows: resnet50-v2-7 uses env/models/resnet50.json (ResNet-50 v1; v2 has the same convolutions,
pre-activation order); mobilenetv2-12 has no model file (adding one would change the model list
every component sees), so its legacy op-level features are computed below from the published
architecture (Sandler et al. 2018, width 1.0, 224x224: 0.30 G-MAC, 3.5 M parameters).
Run: python3 env/models/op_prior.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "../shared/calibration/latency_rknn_zoo.csv (RKNN model zoo v2.3.2 README, airockchip/rknn_model_zoo bad6c733), platform RK1808"


def mobilenet_v2_features():
    """Legacy op-level features (env/cost_params.cpp block_features, whole model, one task)."""
    f = dict(conv_gmac=0.0, dwconv_gmac=0.0, pwconv_gmac=0.0, fc_gmac=0.0, pool_gop=0.0, lrn_gop=0.0,
             eltwise_gop=0.0, layers=0, out_mb=0.0, weights_mb=0.0, tasks=1)

    def layer(kind, cin, cout, k, hout, act=True):
        macs = hout * hout * cout * (k * k if kind == "dw" else cin * k * k)
        f[{"conv": "conv_gmac", "dw": "dwconv_gmac", "pw": "pwconv_gmac", "fc": "fc_gmac"}[kind]] += macs * 1e-9
        if act:  # fused ReLU6 counts as element-wise work, as in block_features
            f["eltwise_gop"] += hout * hout * cout * 1e-9
        f["layers"] += 1
        f["weights_mb"] += ((cout * k * k) if kind == "dw" else (cout * cin * k * k) + cout) * 4e-6 + (cout * 4e-6 if kind == "dw" else 0)

    h, cin = 112, 32
    layer("conv", 3, 32, 3, 112)
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            st = s if i == 0 else 1
            e, hout = cin * t, h // st
            if t != 1:
                layer("pw", cin, e, 1, h)
            layer("dw", e, e, 3, hout)
            layer("pw", e, c, 1, hout, act=False)
            if st == 1 and cin == c:  # residual add
                f["eltwise_gop"] += hout * hout * c * 1e-9
                f["layers"] += 1
            cin, h = c, hout
    layer("pw", 320, 1280, 1, 7)
    f["pool_gop"] += 7 * 7 * 1280 * 1e-9
    f["layers"] += 1
    layer("fc", 1280, 1000, 1, 1, act=False)
    f["out_mb"] = 1000 * 4e-6
    return {k: round(v, 6) for k, v in f.items()}


def main():
    mv2 = mobilenet_v2_features()
    out = {
        "generated_by": "python3 env/models/op_prior.py (do not edit by hand)",
        "source": SRC,
        "assumption": "the RK1808 NPU is the RK3399Pro NPU (same RKNPU generation); only time ratios between rows are used",
        "use": "hetsched calibrate step 3: for a unit whose per-layer profiles cover one model only, the ratio "
               "t(row 0) / t(row i) is imposed on the op-level weights (docs/simulator.md section 10)",
        "units": {
            "N": [
                {"name": "resnet50-v2-7", "model": "resnet50", "fps": 37.1},
                {"name": "mobilenetv2-12", "features": mv2, "fps": 170.3,
                 "note": "features from the published MobileNetV2 1.0/224 architecture (op_prior.py)"},
            ]
        },
    }
    path = os.path.join(HERE, "..", "platforms", "rockpi_n10.op_prior.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)
        fh.write("\n")
    print(path, mv2)


if __name__ == "__main__":
    main()
