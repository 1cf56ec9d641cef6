// End-to-end tests of `hetsched predict` and a small `hetsched validate` run (HETSCHED_BINARY).
#include <gtest/gtest.h>

#include "tests/tools/cli_runner.hpp"
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

using CliResult = hetsched::testing_cli::CliRun;
std::string slurp(const std::string& p) { return hetsched::testing_cli::slurp(p); }
std::string tmpf(const std::string& name) { return hetsched::testing_cli::temp_path("predict", name); }
CliResult run(const std::string& args) { return hetsched::testing_cli::run_cli("predict", std::string("") + args); }

std::string write(const std::string& name, const std::string& text) {
  const std::string p = tmpf(name);
  std::ofstream(p) << text;
  return p;
}

const std::string kPipe = " --platform rockpi_n10 --model googlenet --mode pipeline";

}  // namespace

TEST(PredictCli, PipelineGoodFile) {
  const std::string in = write("in.csv",
                               "order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz,note\n"
                               "BBBBBBBBBBBBB,B,L,408000,1200000,200000000,\"a, quoted note\"\n"
                               "BBBBGGGGGNNNN,B,B,1416000,1800000,800000000,x\n");
  const std::string out = tmpf("out.csv");
  CliResult r = run("predict" + kPipe + " --configs '" + in + "' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string o = slurp(out);
  EXPECT_NE(o.find("order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz,note,pred_latency_ms,pred_fps,pred_power_mw,"
                   "pred_energy_mj,error"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("\"a, quoted note\""), std::string::npos) << "input columns are kept (re-quoted)";
  // Measured for row 1: 4.54 fps, 4589 mW (pipeline_googlenet_lbgn.csv): the prediction is close.
  const size_t p = o.find("\"a, quoted note\",");
  ASSERT_NE(p, std::string::npos);
  const double lat = std::stod(o.substr(p + 17));
  EXPECT_GT(lat, 150);
  EXPECT_LT(lat, 300);
}

TEST(PredictCli, BadRowsGetAnErrorColumn) {
  const std::string in = write("in.csv",
                               "order,gpu_host,npu_host,f_little_khz,f_big_khz,f_gpu_hz\n"
                               "BBBBBBBBBBBBB,B,L,408000,1200000,200000000\n"
                               "BBBBBBBBBBBXB,B,L,408000,1200000,200000000\n"
                               "BBBBBBBBBBBBB,B,L,408000,1234567,200000000\n"
                               "BBB,B,L,408000,1200000,200000000\n"
                               "BBBBBBBBBBBBB,G,L,408000,1200000,200000000\n"
                               "BBBBBBBBBBBBB,B,L,fast,1200000,200000000\n"
                               "BBBBBBBBBBBBB,B\n");
  const std::string out = tmpf("out.csv");
  CliResult r = run("predict" + kPipe + " --configs '" + in + "' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("6 of 7 rows"), std::string::npos) << r.err;
  const std::string o = slurp(out);
  EXPECT_NE(o.find(":3: order: letter 'X'"), std::string::npos) << o;
  EXPECT_NE(o.find(":4: f_big_khz: 1234567 is not an OPP"), std::string::npos) << o;
  EXPECT_NE(o.find(":5: order"), std::string::npos) << o;
  EXPECT_NE(o.find(":6: gpu_host"), std::string::npos) << o;
  EXPECT_NE(o.find(":7: f_little_khz"), std::string::npos) << o;
  EXPECT_NE(o.find(":8: "), std::string::npos) << o;
}

TEST(PredictCli, SwitchMode) {
  const std::string in = write("sw.csv",
                               "graph,order,host,freq\n"
                               "Alex,LLLLLLLL,BB,\"(('max',),)\"\n"
                               "Alex,GGLGBBLL,BB,\"((3, 4), (1, 0), (3,), (3, 6), (7,), (1,), (4,), (2,))\"\n"
                               "Alex,GGLGBBLL,BB,\"((3, 4), (9, 0), (3,), (3, 6), (7,), (1,), (4,), (2,))\"\n");
  CliResult r = run("predict --platform rockpi_n10 --model Alex --mode switch --configs '" + in + "' --out -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("out of range"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("1 of 3 rows"), std::string::npos) << r.err;
}

TEST(PredictCli, UsageAndRuntimeErrors) {
  const std::string in = write("in.csv", "order,gpu_host\nBBB,B\n");
  EXPECT_EQ(run("predict --help").code, 0);
  EXPECT_EQ(run("predict" + kPipe + " --configs x.csv").code, 2) << "missing --out";
  EXPECT_EQ(run("predict --platform rockpi_n10 --model googlenet --mode sideways --configs x.csv --out -").code, 2);
  EXPECT_EQ(run("predict --platform nowhere --model googlenet --mode pipeline --configs x.csv --out -").code, 2);
  EXPECT_EQ(run("predict --platform rockpi_n10 --model nonet --mode pipeline --configs x.csv --out -").code, 2);
  EXPECT_EQ(run("predict" + kPipe + " --configs x.csv --out - --bogus 1").code, 2);
  CliResult missing = run("predict" + kPipe + " --configs /nonexistent/in.csv --out -");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/in.csv"), std::string::npos);
  CliResult cols = run("predict" + kPipe + " --configs '" + in + "' --out -");
  EXPECT_EQ(cols.code, 1);
  EXPECT_NE(cols.err.find("missing column 'npu_host'"), std::string::npos) << cols.err;
  CliResult quote = run("predict" + kPipe + " --configs '" + write("q.csv", "order,gpu_host\n\"BBB,B\n") + "' --out -");
  EXPECT_EQ(quote.code, 1);
  EXPECT_NE(quote.err.find("unterminated"), std::string::npos) << quote.err;
}

TEST(ValidateCli, SmallSubset) {
  CliResult r = run("validate --platform rockpi_n10 --max-rows 40 --no-lomo --out -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("held-back"), std::string::npos);
  EXPECT_NE(r.out.find("pipeline_googlenet_lbgn.csv"), std::string::npos);
  EXPECT_EQ(run("validate").code, 2);
  EXPECT_EQ(run("validate --platform rockpi_n10 --calibration /nonexistent --out -").code, 1);
}
