#!/usr/bin/env python3
"""Writes env/platforms/rockpi_n10.op_prior.json: the external prior of the op-level predictor
for the Rock Pi N10 NPU (docs/simulator.md §10, "NPU prior").

Why: only MobileNetV1 and YOLOv3 have NPU per-layer profiles, so every leave-one-model-out fold
of the NPU fits on ONE model and cannot tell the efficiency of one op class from another. The
same board ran every one of our models on the NPU as ONE RKNN call (an all-N serial run:
eval_single_pe_<Model>.csv, order N...N, host BB, every block at the big cluster's top OPP),
so the ratios of those whole-model times constrain the op-class balance with the board's own
NPU and runtime. (Before: two RKNN model zoo rows of the RK1808, assumed to be the same NPU;
docs/simulator.md §10 has both LOMO tables.)

Rows: the `task_time` (the NPU call, without the input stage) of those runs, averaged per model
over the runs in the FIT split of `hetsched calibrate` (env/calib_data.cpp held_back: FNV-1a-64
of model|order|host|freq mod 5 != 0), YOLOv3 also from eval_switch_yolov3_npu.csv (model column
"yolov3" there). Only ratios between rows are used, and the row of the held-out model is dropped
by load_op_prior, so a fold never sees its own model. Row 0 (resnet50) is the reference.
Run: python3 env/models/op_prior.py [CALIB_DIR]   (default ../shared/calibration)
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_HOST_OPP = 7  # rockpi_n10 B: 1800 MHz, the NPU's default (fastest) host
# (file, model as written in the key, our model name); eval_single_pe_* rows take the graph column.
FILES = [("eval_single_pe_ResV1_50.csv", None, "resnet50"), ("eval_single_pe_Alex.csv", None, "alexnet"),
         ("eval_single_pe_Google.csv", None, "googlenet"), ("eval_single_pe_MobileV1.csv", None, "mobilenet_v1"),
         ("eval_single_pe_YOLOv3.csv", None, "yolov3"), ("eval_switch_yolov3_npu.csv", "yolov3", "yolov3")]


def held_back(key):
    """env/calib_data.cpp held_back(): FNV-1a 64 of the key, mod 5 == 0."""
    h = 1469598103934665603
    for ch in key.encode():
        h = ((h ^ ch) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h % 5 == 0


def at_top(freq):
    """The run's host OPP is the top one for every block ({{max}}, (('max',),) or all (7,))."""
    f = freq.replace(" ", "")
    if f in ("{{max}}", "(('max',),)"):
        return True
    tuples = f.strip("()").split("),(")
    return all(t.strip(",") == str(TOP_HOST_OPP) for t in tuples)


def board_rows(calib):
    d = os.path.join(calib, "armcoup", "rockpi_n10")
    runs = {}
    for fname, key_model, model in FILES:
        with open(os.path.join(d, fname)) as fh:
            for i, r in enumerate(csv.DictReader(fh)):
                order, host, freq = r["order"], r.get("host", ""), r["freq"]
                km = key_model or r["graph"]
                if not order or set(order) != {"N"} or host != "BB" or not at_top(freq):
                    continue
                if held_back("%s|%s|%s|%s" % (km, order, host, freq)):
                    continue
                runs.setdefault(model, []).append((float(r["task_time"]), "%s:%d" % (fname, i + 2)))
    rows = []
    for _, _, model in FILES:
        if model not in runs or any(x["model"] == model for x in rows):
            continue
        t = sum(v for v, _ in runs[model]) / len(runs[model])
        rows.append({"name": "all-N single call, " + ", ".join(w for _, w in runs[model]), "model": model,
                     "fps": round(1000.0 / t, 6), "task_ms": round(t, 6)})
    return rows


def main():
    calib = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "calibration")
    rows = board_rows(calib)
    out = {
        "generated_by": "python3 env/models/op_prior.py (do not edit by hand)",
        "source": "../shared/calibration/armcoup/rockpi_n10/eval_single_pe_*.csv and eval_switch_yolov3_npu.csv: "
                  "all-N serial runs (one RKNN call per frame), host BB at the top OPP, task_time, fit split only",
        "assumption": "the op-class balance of a whole-model single call is that of the per-layer groups; a call's own "
                      "cost is about the same for the 224x224 models and cancels in the ratios",
        "use": "hetsched calibrate step 3: for a unit whose per-layer profiles cover one model only, the ratio "
               "t(row 0) / t(row i) is imposed on the op-level weights; the held-out model's row is dropped "
               "(docs/simulator.md section 10)",
        "units": {"N": rows},
    }
    path = os.path.join(HERE, "..", "platforms", "rockpi_n10.op_prior.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)
        fh.write("\n")
    print(path, [(r["model"], r["task_ms"]) for r in rows])


if __name__ == "__main__":
    main()
