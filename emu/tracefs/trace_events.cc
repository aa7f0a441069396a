// TraceEvents (trace_events.h): trace_kprobe.c / trace_uprobe.c glue over probesim's engines.
#include "emu/tracefs/trace_events.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/tracefs/debug_files.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/fs_struct.h"
#include "emu/vfs/vfs_abi.h"
#include "probes/kprobe.h"
#include "probes/kretprobe.h"
#include "probes/trace_events/fetch_eval.h"
#include "probesim/hex.h"

namespace probesim::emu {

using trace_events::EventsFile;
using trace_events::ProbeDefinition;
using trace_events::ProbeKind;

namespace {

// Trace flags columns: kprobe handlers run with interrupts masked (the trap), uprobe
// handlers in task context.
constexpr std::string_view kKprobeFlags = "d....";
constexpr std::string_view kUprobeFlags = ".....";

std::optional<ProbeKind> kind_of(EventsFile f) {
  if (f == EventsFile::Kprobe) return ProbeKind::Kprobe;
  if (f == EventsFile::Uprobe) return ProbeKind::Uprobe;
  return std::nullopt;
}

}  // namespace

struct TraceEvents::Armed {
  ProbeDefinition def;
  std::unique_ptr<probes::Kprobe> kp;
  std::unique_ptr<probes::Kretprobe> rp;
  std::unique_ptr<probes::UprobeConsumer> uc;
  mmu::Inode* inode = nullptr;
  probes::Uprobe* up = nullptr;
  bool on = false;
  uint64_t nhit = 0;      // trace_kprobe's / trace_uprobe's nhit
  size_t entry_args = 0;  // kretprobes: $argN slots saved at entry
  probes::Kprobe& entry_kprobe() { return kp ? *kp : rp->kp; }
};

// The memory and task a fetch sees at one hit.
struct TraceEvents::Access final : trace_events::FetchAccess {
  MachineState& m;
  Task* task;
  const ProbeDefinition& def;
  uint64_t bp_addr;
  Access(MachineState& ms, Task* t, const ProbeDefinition& d, uint64_t bp)
      : m(ms), task(t), def(d), bp_addr(bp) {}
  bool read_kernel(uint64_t addr, void* out, size_t n) override {
    if (!m.kernel()) return false;
    return m.kernel()->space().read(GuestAddr{addr},
                                   std::span<uint8_t>(static_cast<uint8_t*>(out), n));
  }
  bool read_user(uint64_t addr, void* out, size_t n) override {
    return task && task->proc().mm().peek(GuestAddr{addr}, out, n);
  }
  std::string comm() override { return task ? task->proc().comm : std::string("swapper"); }
  std::string symbolize(uint64_t addr) override {
    if (!m.kernel()) return hex(addr);
    return m.kernel()->space().kallsyms().format(GuestAddr{addr});
  }
  std::optional<uint64_t> file_offset_address(uint64_t off) override {
    return bp_addr - def.offset + off;  // translate_user_vaddr
  }
};

TraceEvents::TraceEvents(MachineState& m) : m_(m) {
  table_.set_register([this](const ProbeDefinition& d) { return register_probe(d); },
                      [this](const ProbeDefinition& d) { unregister_probe(d); });
  for (const trace_events::StaticEvent& e : trace_events::static_events())
    table_.reserve(std::string(e.group), std::string(e.name));  // EVENT_EXIST for probes
}

TraceEvents::~TraceEvents() {
  if (m_.sched().on_event) m_.sched().on_event = nullptr;
  for (auto& [id, a] : armed_) {
    if (a->on) arm(*a, false);
    if (probes::KprobeManager* mgr = m_.kprobes()) {
      if (a->kp) mgr->unregister_kprobe(*a->kp);
      if (a->rp) mgr->unregister_kretprobe(*a->rp);
    }
    if (a->inode) m_.inodes().iput(a->inode);
  }
}

Arch TraceEvents::arch() const {
  return m_.arch();
}

unsigned TraceEvents::symbol_count(std::string_view name) const {
  const GuestKernel* k = m_.kernel();
  if (!k) return 0;
  unsigned n = 0;
  for (const probes::KernelSymbol& s : k->space().kallsyms().symbols())
    n += s.name == name && (s.type == 'T' || s.type == 't');
  return n;
}

std::optional<uint64_t> TraceEvents::symbol_address(std::string_view name) const {
  const GuestKernel* k = m_.kernel();
  if (!k) return std::nullopt;
  const probes::KernelSymbol* s = k->space().kallsyms().find(name);
  if (!s) return std::nullopt;
  return s->addr.value;
}

// kern_path + d_is_reg (trace_uprobe.c): what the path names, following symlinks.
trace_events::DynEventEnv::FileKind TraceEvents::file_kind(std::string_view path) const {
  FsStruct fs;
  auto st = m_.vfs().stat(Caller{fs, nullptr, {}, 0}, fs.cwd, path, Follow::Yes);
  if (st) return S_ISREG(st.value().mode) ? FileKind::Regular : FileKind::Other;
  int e = st.error().err;
  return (e == ENOENT || e == ENOTDIR) ? FileKind::Missing : FileKind::Other;
}

void TraceEvents::set_kprobe_handlers(Armed& a) {
  if (a.kp) {
    a.kp->pre_handler = [this, &a](probes::Kprobe& kp, probes::Regs& regs) {
      std::string where = m_.kernel()->space().kallsyms().format(kp.addr);
      record(a, regs, where, {}, std::string(kKprobeFlags));
      return 0;
    };
    return;
  }
  a.rp->data_size = a.entry_args * sizeof(uint64_t);
  if (a.entry_args) {
    a.rp->entry_handler = [&a](probes::KretprobeInstance& ri, probes::Regs& regs) {
      std::vector<uint64_t> v = trace_events::entry_arg_values(a.def, regs);
      v.resize(a.entry_args);
      std::memcpy(ri.data().data(), v.data(), v.size() * sizeof(uint64_t));
      return 0;
    };
  }
  a.rp->handler = [this, &a](probes::KretprobeInstance& ri, probes::Regs& regs) {
    const probes::Kallsyms& ks = m_.kernel()->space().kallsyms();
    auto func = ks.lookup(a.rp->kp.addr);
    std::string where =
        ks.format(ri.ret_addr) + " <- " + (func ? func->sym->name : hex(a.rp->kp.addr.value));
    std::vector<uint64_t> args(a.entry_args);
    if (a.entry_args) std::memcpy(args.data(), ri.data().data(), args.size() * sizeof(uint64_t));
    record(a, regs, where, args, std::string(kKprobeFlags));
    return 0;
  };
}

void TraceEvents::set_uprobe_handlers(Armed& a) {
  a.uc = std::make_unique<probes::UprobeConsumer>();
  if (a.def.is_return) {
    a.uc->ret_handler = [this, &a](probes::UprobeConsumer&, GuestAddr func, probes::Regs& regs,
                                   uint64_t&) {
      record(a, regs, hex(regs.ip().value) + " <- " + hex(func.value), {},
             std::string(kUprobeFlags));
    };
  } else {
    a.uc->handler = [this, &a](probes::UprobeConsumer&, probes::Regs& regs, uint64_t&) {
      record(a, regs, hex(regs.ip().value), {}, std::string(kUprobeFlags));
      return 0;
    };
  }
}

// validate_ref_ctr_offset: one (file, offset) has one reference counter across all events.
bool TraceEvents::ref_ctr_offset_fits(const ProbeDefinition& def, const mmu::Inode& inode) const {
  for (const auto& [id, other] : armed_) {
    if (other->inode == &inode && other->def.offset == def.offset &&
        other->def.ref_ctr_offset != def.ref_ctr_offset)
      return false;
  }
  return true;
}

int TraceEvents::register_probe(const ProbeDefinition& def) {
  auto a = std::make_unique<Armed>();
  a->def = def;
  if (def.kind == ProbeKind::Uprobe) {
    // The file's inode as kern_path gives it (any regular file, executable or not).
    FsStruct fs;
    auto file = m_.vfs().open(Caller{fs, nullptr, {}, 0}, fs.cwd, def.path, kO_RDONLY, 0);
    if (!file) return -file.error().err;
    a->inode = file.value()->inode();
    if (!a->inode) return -EINVAL;
    if (!ref_ctr_offset_fits(def, *a->inode)) return -EINVAL;
    m_.inodes().iget(a->inode);
    set_uprobe_handlers(*a);
  } else {
    probes::KprobeManager* mgr = m_.kprobes();
    if (!mgr) return -ENODEV;  // no guest kernel: nothing to probe
    probes::Kprobe* kp = nullptr;
    if (def.is_return) {
      a->rp = std::make_unique<probes::Kretprobe>();
      a->rp->maxactive = static_cast<int>(def.maxactive);
      a->entry_args = trace_events::entry_arg_values(def, probes::Regs(m_.arch())).size();
      kp = &a->rp->kp;
    } else {
      a->kp = std::make_unique<probes::Kprobe>();
      kp = a->kp.get();
    }
    if (def.symbol.empty()) {
      kp->addr = GuestAddr{def.addr};
    } else {
      kp->symbol_name = def.symbol;
      kp->offset = def.offset;
    }
    kp->name = def.group + "/" + def.event;
    kp->flags = probes::kKprobeFlagDisabled;  // registered disabled, armed by enable
    set_kprobe_handlers(*a);
    auto r = def.is_return ? mgr->register_kretprobe(*a->rp) : mgr->register_kprobe(*a->kp);
    if (!r) return -r.error().err;
  }
  armed_[def.id] = std::move(a);
  assign_event_id(def.group, def.event);
  return 0;
}

void TraceEvents::unregister_probe(const ProbeDefinition& def) {
  auto it = armed_.find(def.id);
  if (it == armed_.end()) return;
  Armed& a = *it->second;
  if (a.on) arm(a, false);
  if (probes::KprobeManager* mgr = m_.kprobes()) {
    if (a.kp) mgr->unregister_kprobe(*a.kp);
    if (a.rp) mgr->unregister_kretprobe(*a.rp);
  }
  if (a.inode) m_.inodes().iput(a.inode);
  armed_.erase(it);
}

int TraceEvents::arm(Armed& a, bool on) {
  if (a.on == on) return 0;
  if (a.def.kind == ProbeKind::Uprobe) {
    if (on) {
      auto up = m_.uprobes().uprobe_register(*a.inode, FileOffset{a.def.offset}, *a.uc,
                                             a.def.ref_ctr_offset);
      if (!up) return up.error().err;
      a.up = up.value();
    } else {
      m_.uprobes().uprobe_unregister(a.up, *a.uc);
      a.up = nullptr;
    }
  } else {
    probes::KprobeManager* mgr = m_.kprobes();
    auto r = on ? mgr->enable_kprobe(a.entry_kprobe()) : mgr->disable_kprobe(a.entry_kprobe());
    if (!r) return r.error().err;
  }
  a.on = on;
  return 0;
}

// The engine side of an event (Linux's EVENT_FILE_FL_ENABLED): its probes armed, or its
// tracepoint on. Hard and soft enabling (soft_mode.cc) both come here.
int TraceEvents::set_armed(std::string_view group, std::string_view event, bool on) {
  if (const trace_events::StaticEvent* e = static_by_name(group, event))
    return set_static_enabled(e->tp, on);
  auto probes = table_.event(group, event);
  if (probes.empty()) return ENOENT;
  std::vector<Armed*> done;
  for (const ProbeDefinition* d : probes) {
    Armed& a = *armed_.at(d->id);
    if (int err = arm(a, on)) {
      for (Armed* x : done) arm(*x, !on);  // enable_trace_kprobe undoes a partial enable
      return err;
    }
    done.push_back(&a);
  }
  table_.set_enabled(group, event, on);
  return 0;
}

bool TraceEvents::armed(std::string_view group, std::string_view event) const {
  if (const trace_events::StaticEvent* e = static_by_name(group, event)) return tp_on(e->tp);
  return table_.enabled(group, event);
}

void TraceEvents::record(Armed& a, const probes::Regs& regs, std::string location,
                         std::span<const uint64_t> entry_args, std::string flags) {
  ++a.nhit;
  if (!triggers_.empty()) fire_triggers(a.def.group, a.def.event, nullptr);
  if (!tracing_on_) return;  // tracing_on 0: the ring buffer refuses the event
  const bool discard = soft_disabled(a.def.group, a.def.event);
  if (discard && !has_conditional_trigger(a.def.group, a.def.event)) return;
  trace_events::TraceRecord r;
  r.cpu = m_.hit_cpu();
  r.ts_ns = m_.sched().clock(r.cpu).monotonic_ns();
  Task* t = m_.current_task();
  r.comm = t ? t->proc().comm : "<idle>";
  r.pid = t ? t->tid() : 0;
  r.flags = std::move(flags);
  r.group = a.def.group;
  r.event = a.def.event;
  r.location = std::move(location);
  Access access(m_, t, a.def, regs.ip().value);
  trace_events::FetchSite site{regs, a.def.kind, entry_args};
  for (const trace_events::ProbeArg& arg : a.def.args)
    r.fields.emplace_back(arg.name, trace_events::evaluate_arg(arg, site, access));
  r.ring_bytes = event_bytes(a.def, r);
  if (!triggers_.empty()) fire_triggers(a.def.group, a.def.event, &r);
  if (!discard) push_record(std::move(r));
}

// The modelled ring-buffer size of one event: the 4-byte rb event header, struct trace_entry
// (8), the probe's ip fields, each arg's fixed part, and each string's bytes with its NUL
// (__data_loc data), rounded up to 4 as ring buffer events are.
uint32_t TraceEvents::event_bytes(const ProbeDefinition& def, const trace_events::TraceRecord& r) {
  uint64_t n = 4 + 8 + (def.is_return ? 16 : 8);
  for (size_t i = 0; i < def.args.size(); ++i) {
    const trace_events::ProbeArg& a = def.args[i];
    n += uint64_t{a.type->size} * (a.count ? a.count : 1);
    if (a.type->is_string() && i < r.fields.size()) n += r.fields[i].second.size() + 1;
  }
  return static_cast<uint32_t>((n + 3) & ~uint64_t{3});
}

// Appends to the hit CPU's buffer, overwriting that CPU's oldest events past buffer_size_kb,
// and has trace_pipe readers woken at the next flush_wakeups.
void TraceEvents::push_record(trace_events::TraceRecord r) {
  if (!filters_.empty()) {  // filter_check_discard: a filtered-out event is not committed
    auto it = filters_.find({r.group, r.event});
    if (it != filters_.end() && it->second.filter && !it->second.filter->matches(r)) return;
  }
  const size_t cpu = static_cast<size_t>(r.cpu);
  if (cpu_bytes_.size() <= cpu) cpu_bytes_.resize(cpu + 1);
  cpu_bytes_[cpu] += r.ring_bytes;
  records_.push_back(std::move(r));
  ++written_;
  trim_cpu(cpu);
  wake_pending_ = true;  // flush_wakeups, before the next pick
}

void TraceEvents::trim_cpu(size_t cpu) {
  const uint64_t limit = buffer_kb_ * 1024;
  for (auto it = records_.begin(); cpu_bytes_[cpu] > limit && it != records_.end();) {
    if (static_cast<size_t>(it->cpu) != cpu) {
      ++it;
      continue;
    }
    cpu_bytes_[cpu] -= it->ring_bytes;
    it = records_.erase(it);
  }
}

void TraceEvents::set_buffer_size_kb(uint64_t kb) {
  buffer_kb_ = kb;
  for (size_t cpu = 0; cpu < cpu_bytes_.size(); ++cpu) trim_cpu(cpu);
}

void TraceEvents::clear_trace() {
  records_.clear();
  cpu_bytes_.assign(cpu_bytes_.size(), 0);
  written_ = 0;  // tracing_reset_online_cpus: the counts restart too
}

std::deque<trace_events::TraceRecord> TraceEvents::consume() {
  std::deque<trace_events::TraceRecord> out;
  out.swap(records_);
  cpu_bytes_.assign(cpu_bytes_.size(), 0);
  return out;
}

void TraceEvents::log_error(const trace_events::ProbeLogError& e) {
  int cpu = m_.hit_cpu();
  error_log_ += trace_events::format_error_log(e, m_.sched().clock(cpu).monotonic_ns());
}

int TraceEvents::write(EventsFile file, std::string_view text) {
  auto lines = trace_events::split_commands(text);
  if (!lines) return EINVAL;
  for (const std::string& line : *lines) {
    trace_events::TableResult r = table_.run_command(line, file, *this);
    if (r.ok()) continue;
    if (r.log) log_error(*r.log);
    return r.err;
  }
  return 0;
}

int TraceEvents::truncate(EventsFile file) {
  return table_.clear(kind_of(file));
}

std::string TraceEvents::list(EventsFile file) const {
  return table_.list(kind_of(file));
}

std::string TraceEvents::trace_text(bool header) const {
  std::string s = header ? trace_events::trace_header(records_.size(), written_, m_.config().cpus)
                         : std::string();
  for (const trace_events::TraceRecord& r : records_) s += format_trace_line(r) + "\n";
  return s;
}

std::string TraceEvents::profile(ProbeKind kind) const {
  std::string out;
  char line[512];
  for (const ProbeDefinition& d : table_.probes()) {
    if (d.kind != kind) continue;
    const Armed& a = *armed_.at(d.id);
    if (kind == ProbeKind::Kprobe) {
      uint64_t missed = a.kp ? a.kp->nmissed : a.rp->kp.nmissed + a.rp->nmissed;
      std::snprintf(line, sizeof line, "  %-44s %15llu %15llu\n", d.event.c_str(),
                    static_cast<unsigned long long>(a.nhit),
                    static_cast<unsigned long long>(missed));
    } else {
      std::snprintf(line, sizeof line, "  %s %-44s %15llu\n", d.path.c_str(), d.event.c_str(),
                    static_cast<unsigned long long>(a.nhit));
    }
    out += line;
  }
  return out;
}

Result<std::pair<std::string, std::string>> TraceEvents::add_enabled(std::string_view line) {
  // A static tracepoint by GRP:EVENT (perf's and trace-cmd's spelling): enabled as it is.
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    if (const trace_events::StaticEvent* e =
            static_by_name(line.substr(0, colon), line.substr(colon + 1))) {
      set_static_enabled(e->tp, true);
      return std::pair{std::string(e->group), std::string(e->name)};
    }
  }
  trace_events::Command cmd = trace_events::parse_command(line, EventsFile::Dynamic, *this);
  if (cmd.ok() && !cmd.definition())
    return Error::make("'" + std::string(line) + "': not a probe definition", EINVAL);
  size_t log_before = error_log_.size();
  if (int err = write(EventsFile::Dynamic, line)) {
    std::string entry = error_log_.substr(log_before);
    size_t stamp_end = entry.find("] ");
    std::string why = entry.empty() ? std::string(std::strerror(err)) : entry.substr(stamp_end + 2);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return Error::make("'" + std::string(line) + "': " + why, err);
  }
  const ProbeDefinition& def = table_.probes().back();
  if (int err = set_enabled(def.group, def.event, true))
    return Error::make("'" + std::string(line) + "': enable: " + std::strerror(err), err);
  return std::pair{def.group, def.event};
}

}  // namespace probesim::emu
