#include "agent/online_runtime.hpp"

#include <algorithm>
#include <cmath>

#include "agent/dqn.hpp"
#include "agent/replay_buffer.hpp"
#include "policies/agent_file.hpp"

namespace hetsched::agent {

struct OnlineLearning::State {
  OnlineLearningOptions o;
  policies::PolicyFile file;  // schema + metadata of the starting policy; mlp replaced at publish
  std::string source, data_dir;
  policies::PlatformDesc platform;
  policies::ModelDesc model;
  int obs_size = 0, num_actions = 0;
  struct Slot {
    std::vector<float> obs;
    int action = -1;
    bool changed = false;  // the decision changed the configuration (re-split penalty)
    policies::TelemetryFrame frame;
  };
  std::mutex m;
  std::condition_variable cv;
  std::vector<Slot> ring;
  size_t head = 0, size = 0;
  bool stopping = false;
  std::atomic<std::uint64_t> periods{0}, dropped{0}, transitions{0}, updates{0}, published{0};
  Dqn dqn;
  ReplayBuffer replay;
  ReplayBatch batch;
  std::function<void(std::unique_ptr<policies::Controller>)> publish;  // set by start()

  // Controller thread: never blocks (try_lock), never allocates (slots sized at create).
  void push(std::span<const float> obs, int action, bool changed, const policies::TelemetryFrame& f) noexcept {
    periods.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lock(m, std::try_to_lock);
    if (!lock.owns_lock() || size == ring.size() || static_cast<int>(obs.size()) != obs_size) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Slot& s = ring[(head + size) % ring.size()];
    std::copy(obs.begin(), obs.end(), s.obs.begin());
    s.action = action;
    s.changed = changed;
    s.frame = f;
    ++size;
    cv.notify_one();
  }
};

namespace {

// The agent plus the feed into the learner; decisions are the inner agent's, unchanged.
class LearningController final : public policies::Controller {
 public:
  LearningController(std::unique_ptr<policies::Controller> inner, std::shared_ptr<OnlineLearning::State> s, std::string name)
      : inner_(std::move(inner)), s_(std::move(s)), name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  void reset(const policies::Config& initial) noexcept override {
    inner_->reset(initial);
    prev_ = initial;
  }
  const policies::Config& decide(const policies::TelemetryFrame& f, const policies::MaskInput& m) noexcept override {
    const policies::Config& c = inner_->decide(f, m);
    s_->push(inner_->last_observation(), inner_->last_action(), !(c == prev_), f);
    prev_ = c;
    return c;
  }
  std::span<const float> last_observation() const noexcept override { return inner_->last_observation(); }
  int last_action() const noexcept override { return inner_->last_action(); }

 private:
  std::unique_ptr<policies::Controller> inner_;
  std::shared_ptr<OnlineLearning::State> s_;
  std::string name_;
  policies::Config prev_{};
};

// One period's reward (same terms as `hetsched train --from`, weights of env::RewardOptions).
double period_reward(const policies::TelemetryFrame& f, bool reconfigured) noexcept {
  constexpr double w_qos = 10, w_fps = 1, fps_ref = 30, w_reconfig = 1;
  double r = 0;
  const double fps = f.fps_ok ? std::max(0.0, f.fps) : 0.0;
  if (f.target_fps > 0) r -= w_qos * std::max(0.0, 1 - fps / f.target_fps);
  else r += w_fps * std::min(fps / fps_ref, 4.0);
  if (f.max_latency_us_target > 0 && f.latency_ok) r -= w_qos * std::max(0.0, f.max_latency_us / f.max_latency_us_target - 1);
  if (reconfigured) r -= w_reconfig;
  return std::isfinite(r) ? r : 0.0;
}

Result<std::unique_ptr<policies::Controller>> build(const std::shared_ptr<OnlineLearning::State>& s, const policies::PolicyFile& f,
                                                    const std::string& name) {
  auto a = policies::agent_from_policy_file(f, s->platform, s->model, s->data_dir, s->source);
  if (!a.ok()) return a.status();
  std::unique_ptr<policies::Controller> c = std::make_unique<LearningController>(std::move(a->controller), s, name);
  return c;
}

}  // namespace

Result<std::unique_ptr<OnlineLearning>> OnlineLearning::create(const policies::PolicyFile& file, const std::string& source,
                                                               const policies::PlatformDesc& platform,
                                                               const policies::ModelDesc& model, const std::string& data_dir,
                                                               const OnlineLearningOptions& o) {
  if (o.batch_size < 1 || o.replay_capacity < o.batch_size || o.ring_slots < 2 || o.publish_every_updates < 1 ||
      o.updates_per_transition < 0)
    return Error(StatusCode::kInvalidArgument, "OnlineLearningOptions: need batch_size >= 1, replay_capacity >= batch_size, "
                                               "ring_slots >= 2, publish_every_updates >= 1, updates_per_transition >= 0");
  const policies::Mlp& net = file.mlp;
  if (net.options().output_activation != policies::Activation::kIdentity)
    return Error(StatusCode::kInvalidArgument, source + ": output activation is not identity (not a Q-network to keep learning)");
  auto s = std::make_shared<State>();
  s->o = o;
  s->file = file;
  s->source = source;
  s->data_dir = data_dir;
  s->platform = platform;
  s->model = model;
  s->obs_size = net.input_size();
  s->num_actions = net.output_size();
  DqnOptions dq;
  dq.observation_size = s->obs_size;
  dq.num_actions = s->num_actions;
  const auto& ls = net.options().layer_sizes;
  dq.hidden_sizes.assign(ls.begin() + 1, ls.end() - 1);
  dq.hidden_activation = net.options().hidden_activation;
  dq.batch_size = o.batch_size;
  dq.seed = o.seed;
  auto dqn = Dqn::create(dq);
  if (!dqn.ok()) return Error(dqn.status().code(), source + ": online learner: " + dqn.status().message());
  s->dqn = std::move(dqn.value());
  std::copy(net.params().begin(), net.params().end(), s->dqn.online().params().begin());  // warm start
  s->dqn.sync_target();
  auto rb = ReplayBuffer::create({o.replay_capacity, s->obs_size, s->num_actions, o.seed});
  if (!rb.ok()) return Error(rb.status().code(), source + ": online learner: " + rb.status().message());
  s->replay = std::move(rb.value());
  s->batch = ReplayBatch::make(o.batch_size, s->obs_size, s->num_actions);
  s->ring.resize(static_cast<size_t>(o.ring_slots));
  for (auto& slot : s->ring) slot.obs.resize(static_cast<size_t>(s->obs_size));
  auto first = build(s, file, "online:" + source.substr(source.find_last_of('/') + 1) + "#0");
  if (!first.ok()) return first.status();
  std::unique_ptr<OnlineLearning> out(new OnlineLearning());
  out->s_ = std::move(s);
  out->first_ = std::move(first.value());
  return out;
}

OnlineLearning::~OnlineLearning() { stop(); }

std::unique_ptr<policies::Controller> OnlineLearning::take_controller() { return std::move(first_); }

void OnlineLearning::start(std::function<void(std::unique_ptr<policies::Controller>)> publish) {
  s_->publish = std::move(publish);
  std::shared_ptr<State> s = s_;
  th_ = std::thread([s] {
    State::Slot last, cur;
    last.obs.resize(static_cast<size_t>(s->obs_size));
    cur.obs.resize(static_cast<size_t>(s->obs_size));
    bool have_last = false;
    std::uint64_t since_publish = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(s->m);
        s->cv.wait(lock, [&] { return s->size > 0 || s->stopping; });
        if (s->size == 0) return;  // stopping and drained
        std::swap(cur.obs, s->ring[s->head].obs);  // the slot keeps a same-size buffer
        cur.action = s->ring[s->head].action;
        cur.changed = s->ring[s->head].changed;
        cur.frame = s->ring[s->head].frame;
        s->head = (s->head + 1) % s->ring.size();
        --s->size;
      }
      // The frame sensed at this decision is the outcome of the previous decision's action.
      if (have_last && last.action >= 0 && last.action < s->num_actions) {
        const float r = static_cast<float>(period_reward(cur.frame, last.changed));
        if (s->replay.push(last.obs, last.action, r, cur.obs, {}, false)) {
          s->transitions.fetch_add(1, std::memory_order_relaxed);
          if (s->replay.size() >= s->o.batch_size)
            for (int k = 0; k < s->o.updates_per_transition; ++k)
              if (s->replay.sample(s->o.batch_size, &s->batch) && std::isfinite(s->dqn.update(s->batch))) {
                s->updates.fetch_add(1, std::memory_order_relaxed);
                ++since_publish;
              }
        }
      }
      std::swap(last, cur);
      have_last = true;
      if (since_publish >= static_cast<std::uint64_t>(s->o.publish_every_updates) && s->publish) {
        since_publish = 0;
        policies::PolicyFile f = s->file;
        f.mlp = s->dqn.online();
        const std::uint64_t k = s->published.load() + 1;
        auto c = build(s, f, "online:" + s->source.substr(s->source.find_last_of('/') + 1) + "#" + std::to_string(k));
        if (c.ok()) {
          s->publish(std::move(c.value()));
          s->published.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  });
}

void OnlineLearning::stop() noexcept {
  if (!s_) return;
  {
    std::lock_guard<std::mutex> lock(s_->m);
    s_->stopping = true;
  }
  s_->cv.notify_all();
  if (th_.joinable()) th_.join();
}

OnlineLearningStats OnlineLearning::stats() const noexcept {
  OnlineLearningStats r;
  r.periods = s_->periods.load();
  r.dropped = s_->dropped.load();
  r.transitions = s_->transitions.load();
  r.updates = s_->updates.load();
  r.published = s_->published.load();
  return r;
}

policies::PolicyLearnerFactory online_learner_factory(const OnlineLearningOptions& options) {
  return [options](const policies::PolicyFile& file, const std::string& source, const policies::PlatformDesc& platform,
                   const policies::ModelDesc& model,
                   const std::string& data_dir) -> Result<std::unique_ptr<policies::PolicyLearner>> {
    auto ol = OnlineLearning::create(file, source, platform, model, data_dir, options);
    if (!ol.ok()) return ol.status();
    return std::unique_ptr<policies::PolicyLearner>(std::move(ol.value()));
  };
}

}  // namespace hetsched::agent
