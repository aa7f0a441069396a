#include "emu/proc_cpuinfo.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "emu/cpu.h"

namespace probesim::emu {
namespace {

// Linux's CONFIG_HZ on Debian's kernels: BogoMIPS is loops_per_jiffy / (500000 / HZ), and with
// a TSC or the arm64 generic timer loops_per_jiffy is the counter's ticks per jiffy.
constexpr uint64_t kHz = 250;

void add(std::string& out, const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  out += buf;
}

void bogomips(std::string& out, const char* label, uint64_t counter_hz) {
  const uint64_t lpj = counter_hz / kHz;
  add(out, "%s: %" PRIu64 ".%02" PRIu64 "\n", label, lpj / (500000 / kHz),
      lpj / (5000 / kHz) % 100);
}

// x86_cap_flags (arch/x86/include/asm/cpufeatures.h) for the words CPUID fills directly, in
// Linux's word order. Bits Linux names "" (hidden) or leaves unnamed are absent.
struct FlagWord {
  uint32_t leaf;
  char reg;  // 'b', 'c' or 'd'
  std::string_view names[32];
};
constexpr FlagWord kFlagWords[] = {
    {1, 'd', {"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep",
              "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi",
              "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"}},
    {0x80000001, 'd', {"", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "",
                       "", "", "", "mp", "nx", "", "mmxext", "", "", "fxsr_opt", "pdpe1gb",
                       "rdtscp", "", "lm", "3dnowext", "3dnow"}},
    {1, 'c', {"pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2",
              "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", "", "pcid", "dca", "sse4_1",
              "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", "",
              "avx", "f16c", "rdrand", "hypervisor"}},
    {0x80000001, 'c', {"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a",
                       "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt",
                       "", "lwp", "fma4", "tce", "", "nodeid_msr", "", "tbm", "topoext",
                       "perfctr_core", "perfctr_nb", "", "bpext", "ptsc", "perfctr_llc",
                       "mwaitx", "", ""}},
    {7, 'b', {"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", "", "smep", "bmi2",
              "erms", "invpcid", "rtm", "cqm", "", "mpx", "rdt_a", "avx512f", "avx512dq",
              "rdseed", "adx", "smap", "avx512ifma", "", "clflushopt", "clwb", "intel_pt",
              "avx512pf", "avx512er", "avx512cd", "sha_ni", "avx512bw", "avx512vl"}},
    {7, 'c', {"", "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2", "", "gfni",
              "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "tme", "avx512_vpopcntdq",
              "", "la57", "", "", "", "", "", "rdpid", "", "bus_lock_detect", "cldemote", "",
              "movdiri", "movdir64b", "enqcmd", "sgx_lc", ""}},
};

// x86_power_flags (arch/x86/kernel/cpu/powerflags.c): CPUID 0x80000007 EDX.
constexpr std::string_view kPowerFlags[] = {
    "ts", "fid", "vid", "ttp", "tm", "stc", "100mhzsteps", "hwpstate", "", "cpb",
    "eff_freq_ro", "proc_feedback", "acc_power"};

uint32_t reg(const CpuidLeaf& l, char r) { return r == 'b' ? l.ebx : r == 'c' ? l.ecx : l.edx; }

std::string x86_flags(const CpuIdentity& id) {
  std::string out = "flags\t\t:";
  for (const FlagWord& w : kFlagWords) {
    const uint32_t bits = reg(id.leaf(w.leaf), w.reg);
    for (int b = 0; b < 32; ++b)
      if ((bits >> b & 1) && !w.names[b].empty()) out += " " + std::string(w.names[b]);
  }
  return out + "\n";
}

// Bits in the table print their name (bit 8, constant_tsc, prints nothing); others "[N]".
std::string x86_power(const CpuIdentity& id) {
  std::string out = "power management:";
  const uint32_t bits = id.leaf(0x80000007).edx;
  for (size_t b = 0; b < 32; ++b) {
    if (!(bits >> b & 1)) continue;
    if (b >= std::size(kPowerFlags))
      out += " [" + std::to_string(b) + "]";
    else if (!kPowerFlags[b].empty())
      out += " " + std::string(kPowerFlags[b]);
  }
  return out + "\n";
}

struct X86Model {
  std::string vendor, name;
  unsigned family = 0, model = 0, stepping = 0;
};

// x86_family/x86_model/x86_stepping (arch/x86/lib/cpu.c) and get_model_name.
X86Model x86_model(const CpuIdentity& id) {
  X86Model m;
  const CpuidLeaf l0 = id.leaf(0);
  const uint32_t vendor[3] = {l0.ebx, l0.edx, l0.ecx};
  m.vendor.assign(reinterpret_cast<const char*>(vendor), sizeof vendor);
  const uint32_t sig = id.leaf(1).eax;
  m.family = sig >> 8 & 0xf;
  if (m.family == 0xf) m.family += sig >> 20 & 0xff;
  m.model = sig >> 4 & 0xf;
  if (m.family >= 6) m.model += (sig >> 16 & 0xf) << 4;
  m.stepping = sig & 0xf;
  char name[49] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    const CpuidLeaf l = id.leaf(0x80000002 + i);
    const uint32_t r[4] = {l.eax, l.ebx, l.ecx, l.edx};
    std::memcpy(name + 16 * i, r, sizeof r);
  }
  m.name = name;
  while (!m.name.empty() && m.name.back() == ' ') m.name.pop_back();
  return m;
}

void x86_cpu(std::string& out, const CpuinfoInput& in, const X86Model& m, size_t cpu) {
  const CpuIdentity& id = *in.cpu;
  add(out, "processor\t: %zu\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n", cpu,
      m.vendor.c_str(), m.family, m.model);
  add(out, "model name\t: %s\nstepping\t: %u\n", m.name.empty() ? "unknown" : m.name.c_str(),
      m.stepping);
  const uint64_t khz = in.hz / 1000;
  add(out, "cpu MHz\t\t: %" PRIu64 ".%03" PRIu64 "\n", khz / 1000, khz % 1000);
  if (const uint32_t l2 = id.leaf(0x80000006).ecx >> 16) add(out, "cache size\t: %u KB\n", l2);
  add(out, "physical id\t: 0\nsiblings\t: %zu\ncore id\t\t: %zu\ncpu cores\t: %zu\n", in.ncpus,
      cpu, in.ncpus);
  add(out, "apicid\t\t: %zu\ninitial apicid\t: %zu\n", cpu, cpu);
  add(out, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n", id.leaf(0).eax);
  out += x86_flags(id);
  out += "bugs\t\t:\n";
  bogomips(out, "bogomips\t", in.hz);
  const CpuidLeaf l1 = id.leaf(1);
  const unsigned clflush = (l1.edx >> 19 & 1) ? (l1.ebx >> 8 & 0xff) * 8 : 64;
  add(out, "clflush size\t: %u\ncache_alignment\t: %u\n", clflush, clflush);
  const uint32_t sizes = id.leaf(0x80000008).eax;
  add(out, "address sizes\t: %u bits physical, %u bits virtual\n", sizes ? sizes & 0xff : 36,
      sizes ? sizes >> 8 & 0xff : 48);
  out += x86_power(id) + "\n";
}

// hwcap_str (arch/arm64/kernel/cpuinfo.c), indexed by KERNEL_HWCAP_*: AT_HWCAP's bits, then
// AT_HWCAP2's from 32.
constexpr std::string_view kHwcapNames[] = {
    "fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
    "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3", "sm4",
    "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb",
    "paca", "pacg",
    // AT_HWCAP2
    "dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3", "svesm4", "flagm2", "frint",
    "svei8mm", "svef32mm", "svef64mm", "svebf16", "i8mm", "bf16", "dgh", "rng", "bti", "mte",
    "ecv", "afp", "rpres", "mte3"};

void arm64_cpu(std::string& out, const CpuinfoInput& in, uint64_t timer_hz, size_t cpu) {
  add(out, "processor\t: %zu\n", cpu);
  bogomips(out, "BogoMIPS\t", timer_hz);
  out += "Features\t:";
  for (size_t i = 0; i < std::size(kHwcapNames); ++i) {
    const uint64_t bit = i < 32 ? in.hwcap >> i & 1 : in.hwcap2 >> (i - 32) & 1;
    if (bit) out += " " + std::string(kHwcapNames[i]);
  }
  const uint64_t midr = in.cpu->midr;
  add(out, "\nCPU implementer\t: 0x%02x\nCPU architecture: 8\nCPU variant\t: 0x%x\n",
      static_cast<unsigned>(midr >> 24 & 0xff), static_cast<unsigned>(midr >> 20 & 0xf));
  add(out, "CPU part\t: 0x%03x\nCPU revision\t: %u\n\n", static_cast<unsigned>(midr >> 4 & 0xfff),
      static_cast<unsigned>(midr & 0xf));
}

}  // namespace

std::string cpuinfo_text(const CpuinfoInput& in) {
  std::string out;
  if (in.cpu == nullptr) return out;
  if (in.cpu->arch == Arch::X86_64) {
    const X86Model m = x86_model(*in.cpu);
    for (size_t cpu = 0; cpu < in.ncpus; ++cpu) x86_cpu(out, in, m, cpu);
  } else {
    for (size_t cpu = 0; cpu < in.ncpus; ++cpu) arm64_cpu(out, in, Cpu::kArm64CntFreq, cpu);
  }
  return out;
}

}  // namespace probesim::emu
