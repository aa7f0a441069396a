// Uprobe and UprobeConsumer: Linux's struct uprobe (one per (inode, offset), shared by every
// process mapping the file) and struct uprobe_consumer (include/linux/uprobes.h, v6.14).
//
// Ownership and refcounts (UprobeManager::verify checks them):
// - UprobeConsumer is owned by the caller and must stay alive until uprobe_unregister returns.
// - Uprobe is owned by the UprobeManager. Uprobe::ref = consumers.size() (one reference per
//   registration) + 1 per task stepping it out of line (utask->active_uprobe) + 1 per pending
//   return instance naming it. It is in the tree while it has consumers; when the last
//   consumer goes it leaves the tree and is freed as soon as ref drops to 0.
// - The uprobe holds an inode reference (iget, as v3.6's igrab) while it exists.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "probes/regs.h"
#include "probes/uprobes/uprobe_arch.h"
#include "probesim/types.h"

namespace probesim::mmu {
class Inode;
class Mm;
}  // namespace probesim::mmu

namespace probesim::probes {

// Handler return codes (include/linux/uprobes.h).
constexpr int UPROBE_HANDLER_REMOVE = 1;  // remove this breakpoint from the current mm
constexpr int UPROBE_HANDLER_IGNORE = 2;  // do not arm the ret_handler for this hit

struct Uprobe;

struct UprobeConsumer {
  // At the breakpoint, regs.ip = the probe address. Returns 0, UPROBE_HANDLER_REMOVE or
  // UPROBE_HANDLER_IGNORE. cookie is kept for this hit's ret_handler (session consumers).
  std::function<int(UprobeConsumer&, Regs&, uint64_t& cookie)> handler;
  // At function return: func = the probe address, regs.ip = the real return address, the
  // return value in regs (regs.return_value()).
  std::function<void(UprobeConsumer&, GuestAddr func, Regs&, uint64_t& cookie)> ret_handler;
  // Does this consumer want breakpoints in mm? No filter = every mm.
  std::function<bool(UprobeConsumer&, const mmu::Mm&)> filter;

  // Set by the manager.
  uint64_t id = 0;           // monotonic, assigned at registration
  Uprobe* uprobe = nullptr;  // while registered
  uint64_t nhit = 0;         // handler calls
  uint64_t nret = 0;         // ret_handler calls
};

struct Uprobe {
  mmu::Inode* inode = nullptr;  // counted reference (iget) while the uprobe exists
  FileOffset offset;
  // SDT semaphore ("reference counter"): a short at this file offset, in a writable private
  // mapping of the same file, counts the mms with the breakpoint armed. 0 = none.
  uint64_t ref_ctr_offset = 0;
  std::vector<UprobeConsumer*> consumers;  // newest first (consumer_add puts it at the head)
  ArchUprobe arch;                         // analysed at registration (UPROBE_COPY_INSN)
  int ref = 0;                             // see the file comment
  bool in_tree = false;
  uint64_t nhit = 0;  // breakpoint hits (handle_swbp found this uprobe)
};

}  // namespace probesim::probes
