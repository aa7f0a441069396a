#include "cli/cli_probes.h"

#include <charconv>
#include <cinttypes>
#include <optional>

#include "emu/kthread/uprobe_register_work.h"
#include "emu/machine_state.h"
#include "probes/kprobe.h"
#include "probes/kretprobe.h"
#include "probes/uprobes/uprobe_target.h"

namespace probesim::cli {

struct CliProbes::Probes {
  std::vector<std::unique_ptr<probes::Kprobe>> kps;
  std::vector<std::unique_ptr<probes::Kretprobe>> rps;
  std::vector<uint64_t> ret_hits;
  struct Up {
    std::string spec;
    bool ret;
    mmu::Inode* inode;
    probes::Uprobe* uprobe;
    std::unique_ptr<probes::UprobeConsumer> consumer;
    std::optional<uint64_t> at;  // queued for the kworker (SPEC@N)
    std::string outcome;         // a queued one: "" until it ran, then "registered" or the error
  };
  std::vector<Up> ups;
};

CliProbes::CliProbes(Machine& m) : m_(m), p_(std::make_unique<Probes>()) {}

CliProbes::~CliProbes() {
  for (auto& u : p_->ups) {
    if (u.uprobe) m_.state().uprobes().uprobe_unregister(u.uprobe, *u.consumer);
    if (u.inode) m_.state().inodes().iput(u.inode);
  }
  probes::KprobeManager* mgr = m_.state().kprobes();
  if (!mgr) return;
  for (auto& kp : p_->kps) mgr->unregister_kprobe(*kp);
  for (auto& rp : p_->rps) mgr->unregister_kretprobe(*rp);
}

namespace {
// The inode of a probe's PATH as the guest sees it. Probes are registered before any guest
// process exists, so a /proc/self path has no process to name: the error says what the path
// resolved to (/proc/self is pid 0 here) besides the path as given.
Result<mmu::Inode*> probe_inode(Machine& m, const std::string& path) {
  auto inode = m.state().lookup_inode(path);
  if (inode) return inode;
  const Error& e = inode.error();
  if (e.message.starts_with(path + ":")) return inode.take_error();
  return Error::make(path + ": " + e.message + " (probes are registered before the program runs: " +
                         "/proc/self is no guest process; name the program file)",
                     e.err);
}

// PATH:SYMBOL[+OFF] or PATH:OFFSET -> (inode, file offset), reading the ELF from the guest root.
// A uretprobe (ret) must be on a function entry.
Result<std::pair<mmu::Inode*, FileOffset>> uprobe_target(Machine& m, const std::string& text,
                                                         bool ret) {
  probes::UprobeSpec spec = PROBESIM_TRY(probes::parse_uprobe_spec(text));
  mmu::Inode* inode = PROBESIM_TRY(probe_inode(m, spec.path));
  auto off = [&]() -> Result<FileOffset> {
    FileOffset at = PROBESIM_TRY(m.state().uprobe_offset(*inode, spec));
    if (ret) {
      std::vector<uint8_t> bytes = PROBESIM_TRY(inode->i_mapping().read_all());
      loader::ElfFile elf = PROBESIM_TRY(loader::ElfFile::parse(spec.path, std::move(bytes)));
      PROBESIM_TRY_VOID(probes::check_function_entry(elf, spec, at));
    }
    return at;
  }();
  if (!off) {
    m.state().inodes().iput(inode);
    return off.take_error();
  }
  return std::pair{inode, off.value()};
}

void set_target(probes::Kprobe& kp, const ProbeSpec& s) {
  kp.name = s.text;
  if (s.symbol.empty()) {
    kp.addr = GuestAddr{s.addr};
  } else {
    kp.symbol_name = s.symbol;
    kp.offset = s.offset;
  }
}
}  // namespace

Result<std::unique_ptr<CliProbes>> CliProbes::attach(Machine& m, const RunOptions& o) {
  std::unique_ptr<CliProbes> c(new CliProbes(m));
  probes::KprobeManager* mgr = m.state().kprobes();
  if (!mgr && (!o.kprobes.empty() || !o.kretprobes.empty()))
    return Error::make("kprobes need the guest kernel");
  for (size_t i = 0; mgr && i < m.state().kernel()->early_kprobes.size(); ++i) {
    const emu::EarlyKprobe& e = m.state().kernel()->early_kprobes[i];
    if (e.err != 0) return Error::make("--early-kprobe " + e.spec + ": " + e.error, e.err);
  }
  for (const ProbeSpec& s : o.kprobes) {
    auto kp = std::make_unique<probes::Kprobe>();
    set_target(*kp, s);
    kp->pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
    auto r = mgr->register_kprobe(*kp);
    if (!r) return Error::make("--kprobe " + s.text + ": " + r.error().message, r.error().err);
    c->p_->kps.push_back(std::move(kp));
  }
  c->p_->ret_hits.resize(o.kretprobes.size());
  for (size_t i = 0; i < o.kretprobes.size(); ++i) {
    const ProbeSpec& s = o.kretprobes[i];
    auto rp = std::make_unique<probes::Kretprobe>();
    set_target(rp->kp, s);
    uint64_t* hits = &c->p_->ret_hits[i];
    rp->handler = [hits](probes::KretprobeInstance&, probes::Regs&) { return ++*hits, 0; };
    auto r = mgr->register_kretprobe(*rp);
    if (!r) return Error::make("--kretprobe " + s.text + ": " + r.error().message, r.error().err);
    c->p_->rps.push_back(std::move(rp));
  }
  for (const std::string& spec : o.uprobes) PROBESIM_TRY_VOID(c->add_uprobe(spec, false));
  for (const std::string& spec : o.uretprobes) PROBESIM_TRY_VOID(c->add_uprobe(spec, true));
  return c;
}

// SPEC@N: the registration is queued as kernel work starting at N scheduling steps.
Result<std::pair<std::string, std::optional<uint64_t>>> split_at(const std::string& text) {
  size_t at = text.rfind('@');
  if (at == std::string::npos) return std::pair{text, std::optional<uint64_t>{}};
  std::string n = text.substr(at + 1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
  if (n.empty() || ec != std::errc() || end != n.data() + n.size())
    return Error::make("bad start '@" + n + "': SPEC@N takes a count of scheduling steps", EINVAL);
  return std::pair{text.substr(0, at), std::optional<uint64_t>{v}};
}

Result<std::unique_ptr<CliProbes>> CliProbes::attach_uprobes(Machine& m,
                                                             const std::vector<std::string>& specs) {
  std::unique_ptr<CliProbes> c(new CliProbes(m));
  for (const std::string& spec : specs) PROBESIM_TRY_VOID(c->add_uprobe(spec, false));
  return c;
}

namespace {

// A consumer that only counts (the engine counts hits; the handlers do nothing).
std::unique_ptr<probes::UprobeConsumer> counting_consumer(bool ret) {
  auto consumer = std::make_unique<probes::UprobeConsumer>();
  if (ret)
    consumer->ret_handler = [](probes::UprobeConsumer&, GuestAddr, probes::Regs&, uint64_t&) {};
  else
    consumer->handler = [](probes::UprobeConsumer&, probes::Regs&, uint64_t&) { return 0; };
  return consumer;
}

}  // namespace

Result<void> CliProbes::add_uprobe(const std::string& text, bool ret) {
  const char* flag = ret ? "--uretprobe " : "--uprobe ";
  auto split = split_at(text);
  if (!split) return Error::make(flag + text + ": " + split.error().message, EINVAL);
  auto [spec, at] = split.value();
  if (at) return queue_uprobe(text, spec, *at, ret);
  auto target = uprobe_target(m_, spec, ret);
  if (!target) return Error::make(flag + spec + ": " + target.error().message, target.error().err);
  auto consumer = counting_consumer(ret);
  auto [inode, off] = target.value();
  auto u = m_.state().uprobes().uprobe_register(*inode, off, *consumer);
  if (!u) {
    m_.state().inodes().iput(inode);
    return Error::make(flag + spec + ": " + u.error().message, u.error().err);
  }
  p_->ups.push_back(Probes::Up{spec, ret, inode, u.value(), std::move(consumer)});
  return {};
}

Result<void> CliProbes::queue_uprobe(const std::string& text, const std::string& spec,
                                     uint64_t at, bool ret) {
  const char* flag = ret ? "--uretprobe " : "--uprobe ";
  auto target = uprobe_target(m_, spec, ret);
  if (!target) return Error::make(flag + text + ": " + target.error().message, target.error().err);
  auto consumer = counting_consumer(ret);
  auto [inode, off] = target.value();
  p_->ups.push_back(Probes::Up{text, ret, nullptr, nullptr, std::move(consumer), at, ""});
  const size_t index = p_->ups.size() - 1;
  Probes* probes = p_.get();
  auto done = [probes, index](Result<probes::Uprobe*> r) {
    Probes::Up& u = probes->ups[index];
    u.uprobe = r ? r.value() : nullptr;
    u.outcome = r ? "registered" : r.error().message;
  };
  auto work = std::make_unique<emu::UprobeRegisterWork>(spec, *inode, off, *p_->ups[index].consumer,
                                                        std::move(done));
  work->start_at = at;
  m_.state().queue_kernel_work(std::move(work));
  if (emu::Recorder* r = m_.state().recorder())
    r->trace().header.kernel_work.push_back(std::string(ret ? "uretprobe " : "uprobe ") + text);
  return {};
}

void CliProbes::report(FILE* out) const {
  for (const auto& kp : p_->kps)
    std::fprintf(out, "kprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n", kp->name.c_str(),
                 kp->nhit, kp->nmissed);
  for (size_t i = 0; i < p_->rps.size(); ++i)
    std::fprintf(out, "kretprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n",
                 p_->rps[i]->kp.name.c_str(), p_->ret_hits[i], p_->rps[i]->nmissed);
  for (const auto& u : p_->ups) {
    const char* kind = u.ret ? "uretprobe" : "uprobe";
    if (u.at && u.outcome != "registered") {
      std::fprintf(out, "%s %s: %s\n", kind, u.spec.c_str(),
                   u.outcome.empty() ? "never started (the kworker did not run it)"
                                     : ("not registered: " + u.outcome).c_str());
      continue;
    }
    std::fprintf(out, "%s %s: hits %" PRIu64 "\n", kind, u.spec.c_str(),
                 u.ret ? u.consumer->nret : u.consumer->nhit);
  }
  for (const std::string& v : m_.invariant_violations())
    std::fprintf(out, "invariant violated: %s\n", v.c_str());
  const emu::GuestKernel* k = m_.state().kernel();
  if (!k) return;
  for (const emu::EarlyKprobe& e : k->early_kprobes)
    std::fprintf(out, "early kprobe %s: hits %" PRIu64 " nmissed %" PRIu64 "\n", e.spec.c_str(),
                 e.kp->nhit, e.kp->nmissed);
  if (!p_->kps.empty() || !p_->rps.empty() || !k->early_kprobes.empty())  // kprobes/list
    std::fprintf(out, "kprobes/list:\n%s", k->kprobes->list().c_str());
  for (const std::string& oops : k->oopses) std::fprintf(out, "%s\n", oops.c_str());
}

}  // namespace probesim::cli
