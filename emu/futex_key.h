// get_futex_key (kernel/futex/core.c): the FutexTable key of a futex word.
//
// A private futex (FUTEX_PRIVATE_FLAG), or a shared one in private memory, is (mm, uaddr). A
// shared futex in MAP_SHARED memory is the memory object and the offset in it: (inode, file
// offset) for a shared file mapping (and /dev/shm), (anonymous region, offset) for
// MAP_SHARED|MAP_ANONYMOUS memory, which fork shares. Waiters in different processes, mapping
// the word at different addresses, then meet on one key, as on Linux.
#pragma once

#include <cstdint>

#include "emu/futex_table.h"

namespace probesim::mmu {
class Mm;
}

namespace probesim::emu {

FutexTable::Key futex_key(const mmu::Mm& mm, uint64_t uaddr, bool shared);

}  // namespace probesim::emu
