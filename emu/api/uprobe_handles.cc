// Machine::register_uprobe and UprobeHandle (include/probesim/probes.h) over
// probes::UprobeManager, directly or as kernel work for the kworker (at=N, unregister_at(M)).
#include <cerrno>

#include "emu/api/machine_impl.h"
#include "emu/api/probe_hit.h"
#include "emu/kthread/uprobe_register_work.h"
#include "emu/kthread/uprobe_unregister_work.h"
#include "emu/record/kernel_work_entry.h"
#include "emu/record/recorder.h"
#include "emu/vfs/inode_ref.h"
#include "loader/elf_file.h"
#include "probes/uprobes/uprobe_costs.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/uprobe_target.h"

namespace probesim {
namespace {

// Shared by the handle and a queued registration's completion (which may outlive the handle:
// then it unregisters what it registered). The consumer's handlers point at it.
struct UprobeState {
  explicit UprobeState(emu::MachineState& s) : state(s) {}
  emu::MachineState& state;
  std::string target;
  bool ret = false;
  FileOffset offset{};
  ProbeHandler handler;
  ProbeNotifier ret_handler;
  probes::UprobeConsumer consumer;
  emu::InodeRef inode;  // a direct registration's reference (the uprobe holds its own)
  probes::Uprobe* uprobe = nullptr;
  bool pending = false;        // queued, not run yet
  std::optional<uint64_t> at;  // a queued registration's start
  std::optional<size_t> trace_entry;  // its line in a recording's header (kernel_work)
  bool before_run = false;     // registered (or queued) before the machine's first step
  bool unregistering = false;  // unregister_at(M) queued, not done yet
  bool orphaned = false;       // the handle went while pending
  std::optional<Error> error;
  bool enabled = true;
  uint64_t hits = 0, ret_hits = 0;

  void unregister() {
    // consumer_del ran: the queued unregistration is between its steps and finishes the job.
    if (uprobe && !consumer.uprobe) return;
    if (uprobe) state.uprobes().uprobe_unregister(uprobe, consumer);
    uprobe = nullptr;
    inode.reset();
  }
};

// The guest path's inode. Probes are registered from outside the guest, so a /proc/self path
// has no process to name: the error says what the path resolved to besides the path.
Result<emu::InodeRef> probe_inode(emu::MachineState& s, const std::string& path) {
  auto inode = s.lookup_inode(path);
  if (inode) return emu::InodeRef::adopt(inode.value());
  const Error& e = inode.error();
  if (e.message.starts_with(path + ":")) return inode.take_error();
  return Error::make(path + ": " + e.message + " (probes are registered before the program runs: " +
                         "/proc/self is no guest process; name the program file)",
                     e.err);
}

// PATH:SYMBOL[+OFF] or PATH:OFFSET -> file offset, reading the ELF through the page cache. A
// uretprobe must be on a function entry.
Result<FileOffset> target_offset(emu::MachineState& s, mmu::Inode& inode,
                                 const probes::UprobeSpec& spec, bool ret) {
  FileOffset at = PROBESIM_TRY(s.uprobe_offset(inode, spec));
  if (ret) {
    std::vector<uint8_t> bytes = PROBESIM_TRY(inode.i_mapping().read_all());
    loader::ElfFile elf = PROBESIM_TRY(loader::ElfFile::parse(spec.path, std::move(bytes)));
    PROBESIM_TRY_VOID(probes::check_function_entry(elf, spec, at));
  }
  return at;
}

void set_handlers(UprobeState& st) {
  UprobeState* self = &st;
  if (st.handler || !st.ret_handler) {
    st.consumer.handler = [self](probes::UprobeConsumer&, probes::Regs& regs, uint64_t&) {
      if (!self->enabled) return probes::UPROBE_HANDLER_IGNORE;
      ++self->hits;
      if (!self->handler) return 0;
      ProbeHit hit = emu::make_hit(self->state, regs);
      return self->handler(hit);
    };
  }
  if (st.ret_handler) {
    st.consumer.ret_handler = [self](probes::UprobeConsumer&, GuestAddr func, probes::Regs& regs,
                                     uint64_t&) {
      if (!self->enabled) return;
      ++self->ret_hits;
      ProbeHit hit = emu::make_hit(self->state, regs);
      hit.func = func;
      hit.ret_addr = regs.ip();
      self->ret_handler(hit);
    };
  }
}

// at=N: the registration runs as kernel work; recorded runs keep it in the trace header.
void queue(emu::MachineState& s, const std::shared_ptr<UprobeState>& st, mmu::Inode& inode,
           uint64_t at, std::string label) {
  auto done = [st](Result<probes::Uprobe*> r) {
    st->pending = false;
    if (!r) {
      st->error = r.take_error();
      return;
    }
    st->uprobe = r.value();
    if (st->orphaned) st->unregister();
  };
  // The work owns its inode reference until it is done.
  auto work = std::make_unique<emu::UprobeRegisterWork>(
      st->target, *s.inodes().iget(&inode), st->offset, st->consumer, std::move(done));
  work->start_at = at;
  st->pending = true;
  st->at = at;
  s.queue_kernel_work(std::move(work));
  if (label.empty()) label = st->target + "@" + std::to_string(at);
  if (emu::Recorder* r = s.recorder()) {
    st->trace_entry = r->trace().header.kernel_work.size();
    r->trace().header.kernel_work.push_back(std::string(st->ret ? "uretprobe " : "uprobe ") +
                                            label);
  }
}

}  // namespace

struct UprobeHandle::Impl {
  std::shared_ptr<UprobeState> st;
};

UprobeHandle::UprobeHandle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UprobeHandle::~UprobeHandle() { unregister(); }

const std::string& UprobeHandle::target() const { return impl_->st->target; }
FileOffset UprobeHandle::offset() const { return impl_->st->offset; }
bool UprobeHandle::is_return() const { return impl_->st->ret; }
uint64_t UprobeHandle::hits() const { return impl_->st->hits; }
uint64_t UprobeHandle::ret_hits() const { return impl_->st->ret_hits; }
bool UprobeHandle::pending() const { return impl_->st->pending; }
bool UprobeHandle::registered() const { return impl_->st->uprobe != nullptr; }
std::optional<Error> UprobeHandle::error() const { return impl_->st->error; }
bool UprobeHandle::enabled() const { return registered() && impl_->st->enabled; }

Result<void> UprobeHandle::enable() {
  UprobeState& st = *impl_->st;
  if (!st.uprobe) return Error::make(st.target + ": not registered", EINVAL);
  st.enabled = true;
  return st.state.uprobes().uprobe_apply(st.uprobe, st.consumer, true);
}

Result<void> UprobeHandle::disable() {
  UprobeState& st = *impl_->st;
  if (!st.uprobe) return Error::make(st.target + ": not registered", EINVAL);
  st.enabled = false;
  UprobeState* self = &st;
  st.consumer.filter = [self](probes::UprobeConsumer&, const mmu::Mm&) { return self->enabled; };
  return st.state.uprobes().uprobe_apply(st.uprobe, st.consumer, false);
}

void UprobeHandle::unregister() {
  UprobeState& st = *impl_->st;
  if (st.pending)
    st.orphaned = true;
  else
    st.unregister();
}

// The work runs after a queued registration (queue order: start_at, then FIFO) and takes the
// consumer's uprobe at its first step; none (the registration failed, or the handle
// unregistered first): it ends at once. `done` keeps the state (and so the consumer) alive.
Result<void> UprobeHandle::unregister_at(uint64_t at) {
  UprobeState& st = *impl_->st;
  if (!st.uprobe && !st.pending) return Error::make(st.target + ": not registered", EINVAL);
  if (st.pending && at < *st.at)
    return Error::make(st.target + ": unregistering at " + std::to_string(at) +
                       " would run before its registration at " + std::to_string(*st.at), EINVAL);
  if (st.unregistering) return Error::make(st.target + ": already being unregistered", EBUSY);
  PROBESIM_TRY_VOID(emu::record_unregister_at(st.state.recorder(), st.trace_entry,
                                              (st.ret ? "uretprobe " : "uprobe ") + st.target,
                                              st.before_run, at));
  auto done = [keep = impl_->st] {
    keep->unregistering = false;
    keep->uprobe = nullptr;
    keep->inode.reset();
  };
  auto work =
      std::make_unique<emu::UprobeUnregisterWork>(st.target, st.consumer, std::move(done));
  work->start_at = at;
  st.unregistering = true;
  st.state.queue_kernel_work(std::move(work));
  return {};
}

bool UprobeHandle::unregister_pending() const { return impl_->st->unregistering; }

std::vector<std::pair<std::string, uint64_t>> Machine::uprobe_costs() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const probes::UprobeManager& u = impl_->state.uprobes();
  for (const probes::UprobePathCost& c : probes::uprobe_path_costs(impl_->state.config().arch))
    out.emplace_back(std::string(c.name), u.cost(c.path).value);
  return out;
}

Result<std::unique_ptr<UprobeHandle>> Machine::register_uprobe(UserProbeSpec spec) {
  emu::MachineState& s = impl_->state;
  probes::UprobeSpec where = PROBESIM_TRY(probes::parse_uprobe_spec(spec.target));
  auto st = std::make_shared<UprobeState>(s);
  st->target = spec.target;
  st->ret = static_cast<bool>(spec.ret_handler);
  st->handler = std::move(spec.handler);
  st->ret_handler = std::move(spec.ret_handler);
  st->before_run = s.sched().steps() == 0;
  emu::InodeRef inode = PROBESIM_TRY(probe_inode(s, where.path));
  st->offset = PROBESIM_TRY(target_offset(s, *inode, where, st->ret));
  set_handlers(*st);
  if (spec.at) {
    queue(s, st, *inode, *spec.at, std::move(spec.label));
  } else {
    st->uprobe = PROBESIM_TRY(s.uprobes().uprobe_register(*inode, st->offset, st->consumer));
    st->inode = std::move(inode);
  }
  return std::make_unique<UprobeHandle>(std::make_unique<UprobeHandle::Impl>(std::move(st)));
}

}  // namespace probesim
