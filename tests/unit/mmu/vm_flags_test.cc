// Linux constants and the /proc/pid/maps permission string.
#include "mmu/vm_flags.h"

#include <doctest/doctest.h>
#include <sys/mman.h>

namespace probesim::mmu {
namespace {

TEST_CASE("PROT_/MAP_/MADV_ constants have Linux's values (checked against the host's headers)") {
  CHECK(kProtRead == PROT_READ);
  CHECK(kProtWrite == PROT_WRITE);
  CHECK(kProtExec == PROT_EXEC);
  CHECK(kProtGrowsdown == PROT_GROWSDOWN);
  CHECK(kMapShared == MAP_SHARED);
  CHECK(kMapPrivate == MAP_PRIVATE);
  CHECK(kMapSharedValidate == MAP_SHARED_VALIDATE);
  CHECK(kMapFixed == MAP_FIXED);
  CHECK(kMapAnonymous == MAP_ANONYMOUS);
  CHECK(kMapGrowsdown == MAP_GROWSDOWN);
  CHECK(kMapNoreserve == MAP_NORESERVE);
  CHECK(kMapPopulate == MAP_POPULATE);
  CHECK(kMapStack == MAP_STACK);
  CHECK(kMapFixedNoreplace == MAP_FIXED_NOREPLACE);
  CHECK(kMadvDontneed == MADV_DONTNEED);
  CHECK(kMadvFree == MADV_FREE);
  CHECK(kMadvDontfork == MADV_DONTFORK);
  CHECK(kMadvWipeonfork == MADV_WIPEONFORK);
  CHECK(calc_vm_prot_bits(PROT_READ | PROT_EXEC) == (VM_READ | VM_EXEC));
  CHECK(calc_vm_flag_bits(MAP_GROWSDOWN) == VM_GROWSDOWN);
}

TEST_CASE("vm_flags_string gives /proc/pid/maps permissions, 's' iff VM_MAYSHARE") {
  CHECK(vm_flags_string(VM_READ | VM_EXEC) == "r-xp");
  CHECK(vm_flags_string(VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE) == "rw-s");
  CHECK(vm_flags_string(VM_READ | VM_MAYSHARE) == "r--s");
  CHECK(vm_flags_string(0) == "---p");
}

}  // namespace
}  // namespace probesim::mmu
