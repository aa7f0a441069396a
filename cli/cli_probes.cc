#include "cli/cli_probes.h"

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <optional>

#include "probesim/probes.h"

namespace probesim::cli {

// Handles own their probes (destroying one unregisters it); uprobes go first, as Linux
// tears down in no particular order but the report reads them all before.
struct CliProbes::Probes {
  std::vector<std::unique_ptr<KprobeHandle>> kps;
  std::vector<std::string> kp_specs;  // as given (with @N)
  std::vector<std::unique_ptr<KretprobeHandle>> rps;
  struct Up {
    std::string spec;  // as given (with @N)
    bool ret;
    std::unique_ptr<UprobeHandle> handle;
    bool queued = false;  // SPEC@N, registered by the kworker
  };
  std::vector<Up> ups;
};

CliProbes::CliProbes(Machine& m) : m_(m), p_(std::make_unique<Probes>()) {}

CliProbes::~CliProbes() {
  p_->ups.clear();
  p_->kps.clear();
  p_->rps.clear();
}

namespace {

KprobeSpec kprobe_spec(const ProbeSpec& s) {
  // A pre handler that only counts (the engine counts hits). SPEC@N[-M] is named SPEC; a
  // recording's header gets SPEC@N (unregister_at(M) appends -M).
  const std::string name = s.text.substr(0, s.text.rfind('@'));
  return KprobeSpec{.symbol = s.symbol, .offset = s.offset, .addr = GuestAddr{s.addr},
                    .pre = [](ProbeHit&) { return 0; }, .name = name, .at = s.at,
                    .label = s.at ? name + "@" + std::to_string(*s.at) : std::string()};
}

}  // namespace

Result<std::unique_ptr<CliProbes>> CliProbes::attach(Machine& m, const RunOptions& o) {
  std::unique_ptr<CliProbes> c(new CliProbes(m));
  if (!m.has_kernel() && (!o.kprobes.empty() || !o.kretprobes.empty()))
    return Error::make("kprobes need the guest kernel");
  for (const EarlyKprobeInfo& e : m.early_kprobes())
    if (e.err != 0) return Error::make("--early-kprobe " + e.spec + ": " + e.error, e.err);
  for (const ProbeSpec& s : o.kprobes) PROBESIM_TRY_VOID(c->add_kprobe(s));
  for (const ProbeSpec& s : o.kretprobes) {
    auto r = m.register_kretprobe(
        {.symbol = s.symbol, .offset = s.offset, .addr = GuestAddr{s.addr}, .name = s.text});
    if (!r) return Error::make("--kretprobe " + s.text + ": " + r.error().message, r.error().err);
    c->p_->rps.push_back(std::move(r).value());
  }
  for (const std::string& spec : o.uprobes) PROBESIM_TRY_VOID(c->add_uprobe(spec, false));
  for (const std::string& spec : o.uretprobes) PROBESIM_TRY_VOID(c->add_uprobe(spec, true));
  return c;
}

struct SplitAt {
  std::string spec;
  std::optional<uint64_t> at, until;
};

// SPEC@N: the registration is queued as kernel work starting at N scheduling steps; SPEC@N-M
// queues its unregistration at M too (M >= N). N = now: registered at once (SPEC@now-M: and
// unregistered by the kworker at M).
Result<SplitAt> split_at(const std::string& text) {
  size_t at = text.rfind('@');
  if (at == std::string::npos) return SplitAt{text, {}, {}};
  const std::string n = text.substr(at + 1);
  const char* p = n.data();
  const char* e = p + n.size();
  auto bad = [&] {
    return Error::make("bad start '@" + n + "': SPEC@N[-M] takes counts of scheduling steps, "
                       "M >= N; N may be 'now' (registered at once)", EINVAL);
  };
  SplitAt s{text.substr(0, at), 0, {}};
  const char* end = p;
  if (n.starts_with("now")) {
    s.at.reset();
    end = p + 3;
  } else {
    auto [num_end, ec] = std::from_chars(p, e, *s.at);
    if (n.empty() || ec != std::errc()) return bad();
    end = num_end;
  }
  if (end != e) {
    uint64_t m = 0;
    auto [end2, ec2] = std::from_chars(end + 1, e, m);
    if (*end != '-' || end + 1 == e || ec2 != std::errc() || end2 != e || (s.at && m < *s.at))
      return bad();
    s.until = m;
  }
  return s;
}

Result<std::unique_ptr<CliProbes>> CliProbes::attach_queued(
    Machine& m, const std::vector<std::string>& uprobes, const std::vector<std::string>& kprobes) {
  std::unique_ptr<CliProbes> c(new CliProbes(m));
  for (const std::string& spec : uprobes) PROBESIM_TRY_VOID(c->add_uprobe(spec, false));
  if (!m.has_kernel() && !kprobes.empty()) return Error::make("kprobes need the guest kernel");
  for (const std::string& spec : kprobes) {
    ProbeSpec k = PROBESIM_TRY(parse_kprobe_option(spec));
    PROBESIM_TRY_VOID(c->add_kprobe(k));
  }
  return c;
}

Result<void> CliProbes::add_kernel_work(const std::string& entry) {
  if (entry.starts_with("uprobe ")) return add_uprobe(entry.substr(7), false);
  if (entry.starts_with("uretprobe ")) return add_uprobe(entry.substr(10), true);
  if (entry.starts_with("kprobe ")) {
    if (!m_.has_kernel()) return Error::make("kprobes need the guest kernel");
    ProbeSpec k = PROBESIM_TRY(parse_kprobe_option(entry.substr(7)));
    return add_kprobe(k);
  }
  return Error::make("unknown kernel work '" + entry + "'", EINVAL);
}

Result<void> CliProbes::add_kprobe(const ProbeSpec& s) {
  auto r = m_.register_kprobe(kprobe_spec(s));
  if (!r) return Error::make("--kprobe " + s.text + ": " + r.error().message, r.error().err);
  if (s.until) {
    auto u = r.value()->unregister_at(*s.until);
    if (!u) return Error::make("--kprobe " + s.text + ": " + u.error().message, u.error().err);
  }
  p_->kps.push_back(std::move(r).value());
  p_->kp_specs.push_back(s.text);
  return {};
}

Result<void> CliProbes::add_uprobe(const std::string& text, bool ret) {
  const char* flag = ret ? "--uretprobe " : "--uprobe ";
  auto split = split_at(text);
  if (!split) return Error::make(flag + text + ": " + split.error().message, EINVAL);
  auto [spec, at, until] = split.value();
  // Handlers that only count (the handle counts their calls). The trace's label is SPEC@N;
  // unregister_at(M) appends -M.
  UserProbeSpec u{.target = spec, .at = at,
                  .label = at ? spec + "@" + std::to_string(*at) : std::string()};
  if (ret) u.ret_handler = [](ProbeHit&) {};
  auto h = m_.register_uprobe(std::move(u));
  if (!h) return Error::make(flag + text + ": " + h.error().message, h.error().err);
  if (until) {
    auto r = h.value()->unregister_at(*until);
    if (!r) return Error::make(flag + text + ": " + r.error().message, r.error().err);
  }
  p_->ups.push_back(Probes::Up{text, ret, std::move(h).value(), at.has_value()});
  return {};
}

void CliProbes::report(FILE* out) const {
  for (size_t i = 0; i < p_->kps.size(); ++i) {
    const KprobeHandle& kp = *p_->kps[i];
    const char* spec = p_->kp_specs[i].c_str();
    if (std::optional<Error> e = kp.error())
      std::fprintf(out, "kprobe %s: not registered: %s\n", spec, e->message.c_str());
    else if (kp.pending() && !kp.registered())
      std::fprintf(out, "kprobe %s: never started (the kworker did not run it)\n", spec);
    else
      std::fprintf(out, "kprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "%s%s\n", spec, kp.hits(),
                   kp.nmissed(), kp.jump_optimized() ? " (jump-optimized)" : "",
                   kp.unregister_pending() ? " (its unregistering never started)" : "");
  }
  for (const auto& rp : p_->rps)
    std::fprintf(out, "kretprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n", rp->name().c_str(),
                 rp->hits(), rp->nmissed());
  for (const auto& u : p_->ups) {
    const char* kind = u.ret ? "uretprobe" : "uprobe";
    // Not registered (any more): its registration failed or never ran; else SPEC@N-M's
    // unregistration ran, and its hits are reported.
    if (u.queued && !u.handle->registered() && (u.handle->error() || u.handle->pending())) {
      std::optional<Error> e = u.handle->error();
      std::fprintf(out, "%s %s: %s\n", kind, u.spec.c_str(),
                   !e ? "never started (the kworker did not run it)"
                      : ("not registered: " + e->message).c_str());
      continue;
    }
    std::fprintf(out, "%s %s: hits %" PRIu64 "%s\n", kind, u.spec.c_str(),
                 u.ret ? u.handle->ret_hits() : u.handle->hits(),
                 u.handle->unregister_pending() ? " (its unregistering never started)" : "");
  }
  for (const std::string& v : m_.invariant_violations())
    std::fprintf(out, "invariant violated: %s\n", v.c_str());
  if (!m_.has_kernel()) return;
  const std::vector<EarlyKprobeInfo> early = m_.early_kprobes();
  for (const EarlyKprobeInfo& e : early)
    std::fprintf(out, "early kprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n", e.spec.c_str(),
                 e.hits, e.nmissed);
  if (!p_->kps.empty() || !p_->rps.empty() || !early.empty())  // kprobes/list
    std::fprintf(out, "kprobes/list:\n%s", m_.kprobes_list().c_str());
  for (const std::string& oops : m_.kernel_oopses()) std::fprintf(out, "%s\n", oops.c_str());
}

}  // namespace probesim::cli
