#include "kernel_harness.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <stdexcept>

#ifndef PROBESIM_KERNEL_IMAGE_DIR
#error "PROBESIM_KERNEL_IMAGE_DIR must name the directory holding <arch>/vmprobesim"
#endif

namespace probesim::kernel_test {
namespace {

constexpr uint64_t kStackBaseOffset = 0x1000000;  // kernel stacks: KERNEL_BASE + 16 MiB
constexpr uint64_t kUserStackSize = 0x10000;

void ck(uc_err e, const char* what) { probesim::test::UcEngine::check(e, what); }

std::vector<uint8_t> read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path << " (build target guest_kernel)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

constexpr int kX86CallArgs[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                                UC_X86_REG_RCX, UC_X86_REG_R8,  UC_X86_REG_R9};

uint64_t x86_msr(uc_engine* uc, uint32_t id) {
  uc_x86_msr m{id, 0};
  ck(uc_reg_read(uc, UC_X86_REG_MSR, &m), "read MSR");
  return m.value;
}

}  // namespace

struct KernelHarness::Hook {
  KernelHarness* harness;
  std::function<void()> fn;
};

loader::ElfFile load_kernel_image(Arch arch) {
  std::string path = std::string(PROBESIM_KERNEL_IMAGE_DIR) + "/" +
                     std::string(arch_name(arch)) + "/vmprobesim";
  auto elf = loader::ElfFile::parse(path, read_host_file(path));
  REQUIRE_MESSAGE(elf.ok(), (elf.ok() ? "" : elf.error().message));
  return std::move(elf).value();
}

KernelHarness::KernelHarness(Arch arch) : arch_(arch) {
  image_.emplace(load_kernel_image(arch));
  auto k = probes::Kallsyms::create(*image_);
  REQUIRE_MESSAGE(k.ok(), (k.ok() ? "" : k.error().message));
  kallsyms_.emplace(std::move(k).value());
  engine_ = std::make_unique<probesim::test::UcEngine>(arch);
  uc_ = engine_->get();
  map_image();
  map_region(stack_top(0) - THREAD_SIZE, kStacks * THREAD_SIZE, UC_PROT_READ | UC_PROT_WRITE);
  map_region(kUserCode, kPageSize, UC_PROT_ALL);
  map_region(kUserStackTop - kUserStackSize, kUserStackSize, UC_PROT_READ | UC_PROT_WRITE);
  add_hooks();
}

KernelHarness::~KernelHarness() = default;

uint64_t KernelHarness::phys(uint64_t va) const { return engine_->phys(va); }

void KernelHarness::map_region(GuestAddr start, uint64_t size, uint32_t prot) {
  engine_->map(start.value, size, prot);
}

// Each PT_LOAD at its link address, page-rounded, with its file bytes (the rest is zero).
void KernelHarness::map_image() {
  for (const loader::ElfSegment& seg : image_->load_segments()) {
    uint64_t start = page_align_down(seg.vaddr);
    uint64_t end = page_align_up(seg.vaddr + seg.memsz);
    uint32_t prot = ((seg.flags & 4) ? UC_PROT_READ : 0) | ((seg.flags & 2) ? UC_PROT_WRITE : 0) |
                    ((seg.flags & 1) ? UC_PROT_EXEC : 0);
    map_region(GuestAddr{start}, end - start, prot);
    const uint8_t* file = image_->bytes().data() + seg.offset;
    ck(uc_mem_write(uc_, phys(seg.vaddr), file, seg.filesz), "load segment");
  }
}

void KernelHarness::add_hooks() {
  uc_hook h;
  if (arch_ == Arch::X86_64) {
    ck(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(syscall_cb), this, 1, 0,
                   UC_X86_INS_SYSCALL),
       "hook syscall");
  }
  ck(uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(intr_cb), this, 1, 0),
     "hook intr");
}

GuestAddr KernelHarness::sym(std::string_view name) const {
  const probes::KernelSymbol* s = kallsyms_->find(name);
  REQUIRE_MESSAGE(s != nullptr, "no kernel symbol " << name);
  return s->addr;
}

GuestAddr KernelHarness::stack_top(int i) const {
  uint64_t base = arch_ == Arch::X86_64 ? KERNEL_BASE_X86_64 : KERNEL_BASE_ARM64;
  return GuestAddr{base + kStackBaseOffset + uint64_t(i + 1) * THREAD_SIZE};
}

size_t KernelHarness::pt_regs_size() const {
  return arch_ == Arch::X86_64 ? PTREGS_X86_64_SIZE : PTREGS_ARM64_SIZE;
}

GuestAddr KernelHarness::task_pt_regs() const { return stack_top(0) - pt_regs_size(); }

void KernelHarness::guard(const std::function<void()>& fn) noexcept {
  try {
    fn();
  } catch (...) {
    if (!error_) error_ = std::current_exception();
    uc_emu_stop(uc_);
  }
}

void KernelHarness::stop(Stop why) {
  stop_ = why;
  uc_emu_stop(uc_);
}

Stop KernelHarness::run(GuestAddr begin, GuestAddr until) {
  stop_ = Stop::None;
  error_ = nullptr;
  uc_err err = uc_emu_start(uc_, begin.value, until.value, 0, 0);
  if (error_) std::rethrow_exception(error_);
  uint64_t pc = reg(arch_reg(arch_, UC_X86_REG_RIP, UC_ARM64_REG_PC));
  REQUIRE_MESSAGE(err == UC_ERR_OK, std::string(uc_strerror(err)) << " at " << kallsyms_->format(GuestAddr{pc}));
  if (stop_ == Stop::None && until.value != 0 && pc == until.value) return Stop::UserDone;
  return stop_;
}

Stop KernelHarness::boot() { return run(GuestAddr{image_->entry()}, GuestAddr{0}); }

Stop KernelHarness::run_user(const std::vector<uint8_t>& code, const std::vector<uint64_t>& regs) {
  REQUIRE(regs.size() * 8 == pt_regs_size());
  write(kUserCode, code);
  for (size_t i = 0; i < regs.size(); i++) write_u64(task_pt_regs() + i * 8, regs[i]);
  if (arch_ == Arch::X86_64) {
    // Kernel mode on cpu 0: GS_BASE = &pcpu_hot[0], and the task's stack top in it.
    GuestAddr pcpu = sym("pcpu_hot");
    write_u64(pcpu + PCPU_TOP_OF_STACK, stack_top(0).value);
    set_reg(UC_X86_REG_GS_BASE, pcpu.value);
    set_reg(UC_X86_REG_RSP, task_pt_regs().value);
  } else {
    set_reg(UC_ARM64_REG_PSTATE, 0x3c0 | ARM64_PSTATE_EL1H);
    set_reg(UC_ARM64_REG_SP, task_pt_regs().value);
  }
  return run(sym("ret_from_fork"), kUserCode + code.size());
}

uint64_t KernelHarness::kernel_call(std::string_view fn, const std::vector<uint64_t>& args) {
  REQUIRE(args.size() <= 6);
  uc_context* saved = nullptr;
  ck(uc_context_alloc(uc_, &saved), "context alloc");
  ck(uc_context_save(uc_, saved), "context save");
  bool x86 = arch_ == Arch::X86_64;
  if (!x86) set_reg(UC_ARM64_REG_PSTATE, 0x3c0 | ARM64_PSTATE_EL1H);
  set_reg(arch_reg(arch_, UC_X86_REG_RSP, UC_ARM64_REG_SP), stack_top(1).value);
  for (size_t i = 0; i < args.size(); i++)
    set_reg(arch_reg(arch_, kX86CallArgs[i], UC_ARM64_REG_X0 + static_cast<int>(i)), args[i]);
  set_reg(arch_reg(arch_, UC_X86_REG_R11, UC_ARM64_REG_X16), sym(fn).value);
  Stop why = run(sym("probesim_kernel_call_trampoline"), GuestAddr{0});
  ck(uc_context_restore(uc_, saved), "context restore");
  uc_context_free(saved);
  REQUIRE_MESSAGE(why == Stop::KernelCallDone, "kernel_call(" << fn << ") did not finish");
  return kernel_call_result_;
}

void KernelHarness::on_entry(std::string_view name, std::function<void()> fn) {
  GuestAddr a = sym(name);
  hooks_.push_back(std::make_unique<Hook>(Hook{this, std::move(fn)}));
  uc_hook h;
  ck(uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(code_cb), hooks_.back().get(),
                 a.value, a.value),
     "hook code");
}

void KernelHarness::code_cb(uc_engine*, uint64_t, uint32_t, void* hook) {
  auto* k = static_cast<Hook*>(hook);
  k->harness->guard(k->fn);
}

void KernelHarness::trace(const std::vector<std::string>& names) {
  for (const std::string& n : names) on_entry(n, [this, n] { calls.push_back(n); });
}

uint64_t KernelHarness::reg(int uc_reg) const { return engine_->reg(uc_reg); }

uint64_t KernelHarness::msr(uint32_t id) const { return x86_msr(uc_, id); }

void KernelHarness::set_reg(int uc_reg, uint64_t v) { engine_->set_reg(uc_reg, v); }

uint64_t KernelHarness::read_u64(GuestAddr a) const {
  uint64_t v = 0;
  engine_->read(a.value, &v, 8);
  return v;
}

void KernelHarness::write_u64(GuestAddr a, uint64_t v) { engine_->write(a.value, &v, 8); }

std::vector<uint8_t> KernelHarness::read(GuestAddr a, size_t n) const {
  std::vector<uint8_t> out(n);
  engine_->read(a.value, out.data(), n);
  return out;
}

void KernelHarness::write(GuestAddr a, const std::vector<uint8_t>& bytes) {
  engine_->write(a.value, bytes.data(), bytes.size());
}

uint64_t KernelHarness::user_reg(size_t word) const {
  int r = probesim::test::UcEngine::uc_reg(arch_, static_cast<unsigned>(word));
  REQUIRE_MESSAGE(r >= 0, "pt_regs word " << word << " is not a CPU register");
  return reg(r);
}

}  // namespace probesim::kernel_test
