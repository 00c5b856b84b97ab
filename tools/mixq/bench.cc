// mixq bench: latency and throughput of a model: C contexts on C threads over
// one engine (as a server would run it), each inference using N threads.
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli.h"
#include "tensors.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace {

using Clock = std::chrono::steady_clock;

// The value below which `q` of the sorted samples lie (nearest rank).
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

struct Worker {
  Status status;
  std::vector<double> latencies_ms;
};

}  // namespace

int BenchMain(const std::vector<std::string>& args) {
  Args parser("bench", "MODEL.mixq [--threads N] [--contexts C] [--warmup K] [--iterations M] [--shape NAME:DIMS ...]",
              "Runs the model on pseudo-random inputs (fixed seed): C contexts over one shared engine,\n"
              "each on its own thread and each inference using N threads, K warm-up runs then M timed\n"
              "runs per context. Prints latency (min, median, p90, p99, mean over all C*M runs),\n"
              "throughput (C*M runs / wall time of the timed phase) and the plan's memory.");
  parser.AddPositional("MODEL.mixq", "a model file written by mixq build");
  parser.AddFlag("threads", "t", "N",
                 "threads per inference (intra-op; default: OMP_NUM_THREADS or all cores, divided among contexts)");
  parser.AddFlag("contexts", "c", "C", "concurrent contexts, one thread each (default 1)");
  parser.AddFlag("warmup", "w", "K", "untimed runs per thread first (default 2)");
  parser.AddFlag("iterations", "n", "M", "timed runs per thread (default 10)");
  parser.AddFlag("shape", "s", "NAME:DIMS", "dims for an input with dynamic dims, e.g. x:1x3x224x224", true);
  parser.AddSwitch("reference", "run every operator on its reference kernel");
  parser.AddSwitch("profile",
                   "time every step (first context; warm-up runs count, the very first run is left out) and print "
                   "where the time went");
  parser.AddFlag("profile-json", "", "FILE", "write that profile as JSON to FILE (implies --profile)");
  if (int code = ParseOrExit(&parser, "bench", args); code >= 0) return code;
  int64_t intra_threads = 0, threads = 1, warmup = 2, iterations = 10;
  for (auto [flag, value, max] :
       {std::tuple{"threads", &intra_threads, int64_t{1024}}, std::tuple{"contexts", &threads, int64_t{1024}},
        std::tuple{"warmup", &warmup, int64_t{1} << 30}, std::tuple{"iterations", &iterations, int64_t{1} << 30}}) {
    if (!parser.Has(flag)) continue;
    const int64_t min = std::string(flag) == "warmup" ? 0 : 1;
    if (Status s = ParseInt(parser.Get(flag), std::string("--") + flag, min, max, value); !s.ok())
      return Fail("bench", s, kExitUsage);
  }

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(0), &model); !s.ok()) return Fail("bench", s);
  std::vector<Dims> dims;
  if (Status s = ResolveInputDims(parser.GetAll("shape"), model->GetInputNames(), model->GetInputDimensions(), &dims);
      !s.ok())
    return Fail("bench", s, kExitUsage);
  auto engine = model->CreateIEngine();
  if (!engine) return Fail("bench", model->GetLastStatus());

  ContextOptions options;
  options.force_reference = parser.Has("reference");
  options.profile = parser.Has("profile") || parser.Has("profile-json");
  std::string profile, profile_json;
  // No oversubscription: several contexts share the cores unless told otherwise.
  if (intra_threads == 0 && threads > 1)
    intra_threads = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) / threads);
  options.num_threads = static_cast<int>(intra_threads);
  int64_t activation_bytes = 0;
  std::vector<Worker> workers(static_cast<size_t>(threads));
  Clock::time_point start, end;
  int phase = 0;
  // The completion step runs once when all threads arrive: the first marks the
  // start of the timed phase, the second its end.
  std::barrier sync(threads, [&]() noexcept { (phase++ == 0 ? start : end) = Clock::now(); });
  auto body = [&](Worker* w, uint64_t seed) {
    auto context = engine->CreateIContext(options);
    std::vector<HostTensor> inputs;
    RandomInputs(model->GetInputNames(), model->GetInputDataTypes(), dims, seed, &inputs);
    std::vector<std::unique_ptr<IRTTensor>> in_tensors, out_tensors;
    for (int64_t i = 0; i < warmup && w->status.ok(); ++i)
      w->status = RunOnce(context.get(), &inputs, &in_tensors, &out_tensors);
    sync.arrive_and_wait();
    for (int64_t i = 0; i < iterations && w->status.ok(); ++i) {
      auto t0 = Clock::now();
      w->status = RunOnce(context.get(), &inputs, &in_tensors, &out_tensors);
      w->latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    sync.arrive_and_wait();
    if (w == &workers[0]) {
      activation_bytes = context->GetActivationBytes();
      profile = context->GetProfile(false);
      profile_json = context->GetProfile(true);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < workers.size(); ++t) pool.emplace_back(body, &workers[t], uint64_t{t});
  for (auto& t : pool) t.join();

  std::vector<double> all;
  for (const auto& w : workers) {
    if (!w.status.ok()) return Fail("bench", w.status);
    all.insert(all.end(), w.latencies_ms.begin(), w.latencies_ms.end());
  }
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (double v : all) sum += v;
  const double wall_s = std::chrono::duration<double>(end - start).count();
  std::printf("model: %s\n", parser.Positional(0).c_str());
  for (size_t i = 0; i < dims.size(); ++i)
    std::printf("input %s: %s\n", model->GetInputNames()[i].c_str(), dims[i].ToString().c_str());
  std::printf("threads per inference: %s  contexts: %lld  warmup: %lld  iterations: %lld per context\n",
              intra_threads > 0 ? std::to_string(intra_threads).c_str() : "default", static_cast<long long>(threads),
              static_cast<long long>(warmup), static_cast<long long>(iterations));
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin_count = std::getenv("GOMP_SPINCOUNT");
  std::printf("OpenMP waits: OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s (util/omp_wait_policy.h)\n",
              wait_policy ? wait_policy : "(unset)", spin_count ? spin_count : "(unset)");
  std::printf("memory: activations %lld bytes per context, packed weights %lld bytes (engine, shared)\n",
              static_cast<long long>(activation_bytes), static_cast<long long>(engine->GetPreparedWeightBytes()));
  std::printf("latency ms: min %.3f  median %.3f  p90 %.3f  p99 %.3f  mean %.3f\n", all.front(), Quantile(all, 0.5),
              Quantile(all, 0.9), Quantile(all, 0.99), sum / static_cast<double>(all.size()));
  std::printf("throughput: %.2f inferences/s\n", wall_s > 0 ? static_cast<double>(all.size()) / wall_s : 0.0);
  if (options.profile) std::printf("%s", profile.c_str());
  if (parser.Has("profile-json"))
    if (!(std::ofstream(parser.Get("profile-json")) << profile_json << "\n"))
      return Fail("bench", InvalidArgument("--profile-json: cannot write '", parser.Get("profile-json"), "'"));
  return 0;
}

}  // namespace mixq::cli
