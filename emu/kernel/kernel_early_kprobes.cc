// Guest kernel: early kprobes (seed 002; the engine's half is
// probes/early_kprobes.cc). The kernel command line (KernelConfig::cmdline, with
// KernelConfig::early_kprobes appended as one `ekprobe=` list) is written into the image's
// boot_command_line before start_kernel, as a boot loader does. When setup_arch reports (where
// Linux's parse_early_param runs), each `ekprobe=sym[+off][,...]` target is registered: the
// kprobes engine is not initialized yet, so each becomes a branch into a static detour slot.
// Their hits during boot run their (counting) pre handlers; when init_kprobes reports they are
// converted into ordinary kprobes. boot_log records registration, hits and conversion in order.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "emu/kernel/guest_kernel.h"
#include "emu/syscalls/strace.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probes/kprobe.h"

namespace probesim::emu {
namespace {

constexpr std::string_view kEkprobeParam = "ekprobe=";

// The command line the guest sees: kernel_cmdline, then early_kprobes as one ekprobe= list.
std::string full_cmdline(const KernelConfig& c) {
  std::string line = c.cmdline;
  if (c.early_kprobes.empty()) return line;
  if (!line.empty()) line += ' ';
  line += kEkprobeParam;
  for (size_t i = 0; i < c.early_kprobes.size(); ++i)
    line += (i ? "," : "") + c.early_kprobes[i];
  return line;
}

// "sym[+off]" (off as kstrtoul with base 0 reads it) into the probe's target.
bool parse_target(const std::string& spec, probes::Kprobe& kp) {
  const size_t plus = spec.find('+');
  kp.symbol_name = spec.substr(0, plus);
  if (kp.symbol_name.empty()) return false;
  if (plus == std::string::npos) return true;
  const std::string off = spec.substr(plus + 1);
  if (off.empty()) return false;
  char* end = nullptr;
  errno = 0;
  kp.offset = std::strtoull(off.c_str(), &end, 0);
  return errno == 0 && *end == '\0' && off[0] != '-';
}

// Every value of ekprobe= in the command line, split at commas, in order.
std::vector<std::string> ekprobe_targets(std::string_view cmdline) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < cmdline.size()) {
    size_t end = cmdline.find(' ', pos);
    if (end == std::string_view::npos) end = cmdline.size();
    std::string_view param = cmdline.substr(pos, end - pos);
    pos = end + 1;
    if (!param.starts_with(kEkprobeParam)) continue;
    param.remove_prefix(kEkprobeParam.size());
    for (size_t p = 0; p <= param.size();) {
      size_t comma = param.find(',', p);
      if (comma == std::string_view::npos) comma = param.size();
      out.emplace_back(param.substr(p, comma - p));
      p = comma + 1;
    }
  }
  return out;
}

// "sym+0xoff" (kprobes/list's spelling; kallsyms' format adds the size).
std::string sym_off(const probes::Kallsyms& ks, GuestAddr a) {
  const std::optional<probes::SymbolOffset> s = ks.lookup(a);
  if (!s) return ks.format(a);
  char off[24];
  std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(s->offset));
  return s->sym->name + off;
}

}  // namespace

// Before start_kernel: the boot loader's part (boot_command_line) and the static slot pool.
Result<void> GuestKernel::prepare_early_kprobes() {
  KernelSpace& ks = *space_;
  const std::string line = full_cmdline(config_);
  if (line.size() >= COMMAND_LINE_SIZE)
    return Error::make("kernel command line is " + std::to_string(line.size()) +
                           " bytes; COMMAND_LINE_SIZE allows " +
                           std::to_string(COMMAND_LINE_SIZE - 1),
                       E2BIG);
  uint8_t* at = ks.host(ks.sym("boot_command_line"), COMMAND_LINE_SIZE);
  PROBESIM_ASSERT(at != nullptr);
  std::memcpy(at, line.c_str(), line.size() + 1);
  kprobes_->set_early_kprobe_slots(ks.sym("early_kprobe_insn_slots"), EARLY_KPROBE_SLOT_SIZE,
                                    NR_EARLY_KPROBES_SLOTS);
  kprobes_->set_printk([this](const std::string& s) { boot_log_.push_back(s); });
  return {};
}

// setup_arch reported: parse_early_param's ekprobe= handler, for each target in order.
void GuestKernel::register_early_kprobes() {
  const char* line = reinterpret_cast<const char*>(
      space_->host(space_->sym("boot_command_line"), COMMAND_LINE_SIZE));
  for (const std::string& spec : ekprobe_targets(std::string_view(line, strnlen(line, COMMAND_LINE_SIZE)))) {
    EarlyKprobe ek{spec, std::make_unique<probes::Kprobe>()};
    probes::Kprobe& kp = *ek.kp;
    kp.name = spec;
    kp.pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };  // counts (nhit)
    Result<void> r = parse_target(spec, kp)
                         ? kprobes_->register_kprobe(kp)
                         : Result<void>(Error::make("bad target (sym[+offset])", EINVAL));
    if (r) {
      boot_log_.push_back("early kprobe " + spec + " registered at " +
                           sym_off(space_->kallsyms(), kp.addr));
    } else {
      ek.err = r.error().err;
      ek.error = r.error().message;
      boot_log_.push_back("early kprobe " + spec + ": -" + errno_name(ek.err) + " (" +
                           ek.error + ")");
    }
    early_kprobes_.push_back(std::move(ek));
  }
}

// init_kprobes reported: convert_early_kprobes.
void GuestKernel::convert_early_kprobes() {
  const size_t n = kprobes_->init_kprobes();
  if (n == 0) return;  // a boot without early kprobes logs only its steps
  boot_log_.push_back("init_kprobes: " + std::to_string(n) + " early kprobe" +
                       (n == 1 ? "" : "s") + " converted");
}

// A boot step the model acts on (hypercall_abi.h: HC_BOOT_STEP). Only during boot: a
// kernel_call of boot_step later changes nothing.
void GuestKernel::boot_step_action(uint64_t step) {
  if (run_init_ || !kprobes_) return;
  if (step == BOOT_STEP_SETUP_ARCH) register_early_kprobes();
  if (step == BOOT_STEP_INIT_KPROBES) convert_early_kprobes();
}

// An optimized_callback before init_kprobes: an early kprobe hit during boot.
void GuestKernel::log_early_hit(uint64_t op) {
  if (kprobes_->kprobes_initialized()) return;
  if (auto addr = kprobes_->optprobe_addr(op))
    boot_log_.push_back("early kprobe hit at " + sym_off(space_->kallsyms(), *addr));
}

}  // namespace probesim::emu
