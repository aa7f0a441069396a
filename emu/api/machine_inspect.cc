// Machine's inspection snapshots (include/probesim/inspect.h) and dynamic events (trace.h).
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "emu/api/machine_impl.h"
#include "emu/api/snapshots.h"
#include "emu/tracefs/trace_events.h"
#include "emu/vfs/inode_ref.h"
#include "mmu/inode.h"
#include "mmu/vm_flags.h"
#include "probes/kallsyms.h"
#include "probes/uprobes/uprobe_manager.h"

namespace probesim {

namespace emu {

int pid_of(MachineState& s, const mmu::Mm* mm) {
  for (Process* p : s.processes())
    if (&p->mm() == mm) return p->pid();
  return 0;
}

VmaInfo vma_info(const mmu::Vma& v, int pid) {
  VmaInfo out;
  out.start = v.vm_start.value;
  out.end = v.vm_end.value;
  out.pgoff = v.vm_pgoff;
  out.vm_flags = v.vm_flags;
  out.flags = mmu::vm_flags_string(v.vm_flags);
  if (v.vm_file) {
    out.file = v.vm_file->name();
    out.ino = v.vm_file->i_ino();
  }
  out.name = v.name;
  out.private_copy = v.private_copy();
  out.pid = pid;
  return out;
}

// The kind is decided by where the page's host memory really is: inside the file's page-cache
// arena means the shared frame; anything else is private to this mm.
PageInfo page_info(const mmu::Vma& v, uint64_t addr, int pid) {
  PageInfo out;
  out.addr = page_align_down(addr);
  out.vma = vma_info(v, pid);
  out.kind = kAnonymous;
  if (!v.vm_file) return out;
  const mmu::AddressSpace& mapping = v.vm_file->i_mapping();
  out.ino = v.vm_file->i_ino();
  out.index = v.vm_pgoff + ((out.addr - v.vm_start.value) >> kPageShift);
  const uint8_t* host = v.host_ptr(GuestAddr{out.addr});
  const uint8_t* base = mapping.base();
  bool in_cache = base && host >= base && host < base + mapping.capacity_pages() * kPageSize;
  out.kind = in_cache ? kPageCache : kPrivateCopy;
  if (in_cache) {
    out.index = static_cast<uint64_t>(host - base) >> kPageShift;
    out.mapcount = mapping.page_mapcount(PageIndex{*out.index});
  }
  return out;
}

}  // namespace emu

namespace {

const char* task_state(emu::TaskState t) {
  static constexpr const char* kNames[] = {"runnable", "blocked", "dead"};  // TaskState order
  return kNames[static_cast<int>(t)];
}

Result<emu::Process*> live_process(emu::MachineState& s, int pid) {
  emu::Process* p = s.process(pid);
  if (!p) return Error::make("no process " + std::to_string(pid), ESRCH);
  return p;
}

}  // namespace

std::vector<ProcessInfo> Machine::processes() const {
  std::vector<ProcessInfo> out;
  for (emu::Process* p : impl_->state.processes()) {
    ProcessInfo info{p->pid(), p->ppid(), p->comm, p->exe_path, p->exited(), {}};
    for (const auto& t : p->tasks()) info.tasks.push_back(TaskInfo{t->tid(), task_state(t->state)});
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<VmaInfo>> Machine::vmas(int pid) const {
  emu::Process* p = PROBESIM_TRY(live_process(impl_->state, pid));
  std::vector<VmaInfo> out;
  for (const mmu::Vma* v : p->mm().vmas()) out.push_back(emu::vma_info(*v, pid));
  return out;
}

Result<std::optional<VmaInfo>> Machine::vma_at(int pid, GuestAddr addr) const {
  emu::Process* p = PROBESIM_TRY(live_process(impl_->state, pid));
  const mmu::Vma* v = p->mm().vma_at(addr);
  if (!v) return std::optional<VmaInfo>();
  return std::optional<VmaInfo>(emu::vma_info(*v, pid));
}

Result<PageInfo> Machine::page(int pid, GuestAddr addr) const {
  emu::Process* p = PROBESIM_TRY(live_process(impl_->state, pid));
  const mmu::Vma* v = p->mm().vma_at(addr);
  if (!v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(addr.value));
    return Error::make(std::string(buf) + " is not mapped in pid " + std::to_string(pid), EFAULT);
  }
  return emu::page_info(*v, addr.value, pid);
}

Result<InodeInfo> Machine::inode(const std::string& path) {
  emu::MachineState& s = impl_->state;
  emu::InodeRef ref = emu::InodeRef::adopt(PROBESIM_TRY(s.lookup_inode(path)));
  const mmu::Inode& i = *ref;
  InodeInfo out{i.i_ino(), i.name(), i.i_size(), i.i_mapping().nrpages(),
                static_cast<uint64_t>(i.i_count() - 1), {}, {}};
  for (const mmu::ImmapTree::NodeView& n : i.i_mapping().i_mmap().nodes())
    out.i_mmap.push_back(ImmapNode{n.start, n.last, n.subtree_last, n.depth,
                                   n.red ? "red" : "black",
                                   emu::vma_info(*n.vma, emu::pid_of(s, n.vma->vm_mm))});
  for (const probes::UprobeInfo& u : s.uprobes().uprobes_of(i))
    out.uprobe_offsets.push_back(u.offset.value);
  return out;
}

std::vector<std::string> Machine::probeable_functions() const {
  const emu::GuestKernel* k = impl_->state.kernel();
  return k ? k->space().kallsyms().probeable_functions() : std::vector<std::string>{};
}

Result<EventId> Machine::add_event(const std::string& line) {
  auto [group, name] = PROBESIM_TRY(impl_->state.trace_events().add_enabled(line));
  return EventId{std::move(group), std::move(name)};
}

Result<void> Machine::set_event_enabled(const EventId& e, bool on) {
  if (int err = impl_->state.trace_events().set_enabled(e.group, e.name, on))
    return Error::make(e.group + "/" + e.name + ": " + std::strerror(err), err);
  return {};
}

bool Machine::event_enabled(const EventId& e) const {
  return impl_->state.trace_events().enabled(e.group, e.name);
}

std::string Machine::dynamic_events() const {
  return impl_->state.trace_events().list(trace_events::EventsFile::Dynamic);
}

std::string Machine::events_error_log() const { return impl_->state.trace_events().error_log(); }

std::vector<TraceEvent> Machine::trace() const {
  std::vector<TraceEvent> out;
  for (const trace_events::TraceRecord& r : impl_->state.trace_events().records())
    out.push_back(TraceEvent{r.comm, r.pid, r.cpu, r.flags, r.ts_ns, r.group, r.event, r.location,
                             r.fields, trace_events::format_trace_line(r)});
  return out;
}

std::string Machine::trace_text() const { return impl_->state.trace_events().trace_text(false); }

Result<std::string> Machine::tracefs_read(const std::string& path) {
  emu::TracefsHost& fs = impl_->state.trace_events();
  std::optional<bool> is_dir = fs.tracefs_kind(path);
  if (!is_dir) return Error::make("tracefs: " + path + ": no such file", ENOENT);
  if (*is_dir) return Error::make("tracefs: " + path + ": a directory", EISDIR);
  return fs.tracefs_consuming(path) ? fs.tracefs_consume(path) : fs.tracefs_read(path);
}

Result<void> Machine::tracefs_write(const std::string& path, const std::string& data,
                                    bool truncate) {
  emu::TraceEvents& te = impl_->state.trace_events();
  emu::TracefsHost& fs = te;
  std::optional<bool> is_dir = fs.tracefs_kind(path);
  if (!is_dir) return Error::make("tracefs: " + path + ": no such file", ENOENT);
  if (*is_dir) return Error::make("tracefs: " + path + ": a directory", EISDIR);
  if (truncate) {
    if (int err = fs.tracefs_truncate(path))
      return Error::make("tracefs: " + path + ": " + std::strerror(err), err);
  }
  if (data.empty()) return {};
  const size_t log_before = te.error_log().size();
  int64_t n = fs.tracefs_write(path, data);
  if (n >= 0) return {};
  std::string why = te.error_log().substr(log_before);
  while (!why.empty() && why.back() == '\n') why.pop_back();
  if (why.empty()) why = std::strerror(static_cast<int>(-n));
  return Error::make("tracefs: " + path + ": " + why, static_cast<int>(-n));
}

}  // namespace probesim
