#include "emu/cpu_topology.h"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>

namespace probesim::emu {
namespace {

constexpr std::string_view kCpuDir = "/sys/devices/system/cpu/cpu";
constexpr std::string_view kTopology = "/topology/";

enum class Kind { Id, Mask, List };
enum class Span { Self, All };  // the CPU itself, or every CPU (the one package)

struct Row {
  std::string_view name;
  bool x86_only;
  Kind kind;
  Span span;                                   // Mask/List
  int64_t (*id)(size_t cpu, Arch arch);        // Id
};

int64_t zero(size_t, Arch) { return 0; }
int64_t core_id(size_t cpu, Arch) { return static_cast<int64_t>(cpu); }
int64_t cluster_id(size_t, Arch arch) { return arch == Arch::X86_64 ? 0xffff : -1; }

// Sorted by name, as a directory listing of topology/ is.
constexpr Row kRows[] = {
    {"cluster_cpus", false, Kind::Mask, Span::Self, nullptr},
    {"cluster_cpus_list", false, Kind::List, Span::Self, nullptr},
    {"cluster_id", false, Kind::Id, Span::Self, cluster_id},
    {"core_cpus", false, Kind::Mask, Span::Self, nullptr},
    {"core_cpus_list", false, Kind::List, Span::Self, nullptr},
    {"core_id", false, Kind::Id, Span::Self, core_id},
    {"core_siblings", false, Kind::Mask, Span::All, nullptr},
    {"core_siblings_list", false, Kind::List, Span::All, nullptr},
    {"die_cpus", true, Kind::Mask, Span::All, nullptr},
    {"die_cpus_list", true, Kind::List, Span::All, nullptr},
    {"die_id", true, Kind::Id, Span::Self, zero},
    {"package_cpus", false, Kind::Mask, Span::All, nullptr},
    {"package_cpus_list", false, Kind::List, Span::All, nullptr},
    {"physical_package_id", false, Kind::Id, Span::Self, zero},
    {"ppin", true, Kind::Id, Span::Self, zero},
    {"thread_siblings", false, Kind::Mask, Span::Self, nullptr},
    {"thread_siblings_list", false, Kind::List, Span::Self, nullptr},
};

bool has_row(const Row& r, Arch arch) { return !r.x86_only || arch == Arch::X86_64; }

// DEVICE_ATTR_RO / BIN_ATTR_RO are 0444; ppin is DEVICE_ATTR_ADMIN_RO.
uint32_t mode_of(const Row& r) { return S_IFREG | (r.name == "ppin" ? 0400 : 0444); }

std::string row_text(const Row& r, size_t cpu, Arch arch, size_t ncpus) {
  const size_t first = r.span == Span::Self ? cpu : 0, last = r.span == Span::Self ? cpu : ncpus - 1;
  switch (r.kind) {
    case Kind::Mask: return cpumask_hex(first, last, ncpus) + "\n";
    case Kind::List: return cpumask_list(first, last) + "\n";
    case Kind::Id: break;
  }
  if (r.name == "ppin") return "0x0\n";  // "0x%llx"
  return std::to_string(r.id(cpu, arch)) + "\n";
}

// "cpu<N>" as Linux names it (no leading zeros); nullopt: not a CPU directory name.
std::optional<size_t> cpu_number(std::string_view s) {
  if (s.empty() || s.size() > 6 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

}  // namespace

std::string cpumask_hex(size_t first, size_t last, size_t nbits) {
  std::string out;
  size_t width = nbits % 32 == 0 ? 32 : nbits % 32;
  width = (width + 3) / 4;  // hex digits of the top chunk
  for (size_t base = (nbits + 31) / 32 * 32; base > 0; base -= 32, width = 8) {
    uint32_t chunk = 0;
    for (size_t bit = 0; bit < 32; ++bit)
      if (base - 32 + bit >= first && base - 32 + bit <= last) chunk |= uint32_t{1} << bit;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%0*" PRIx32, static_cast<int>(width), chunk);
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out;
}

std::string cpumask_list(size_t first, size_t last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

std::vector<SystemPath> cpu_topology_paths(Arch arch, size_t ncpus) {
  std::vector<SystemPath> out;
  for (size_t cpu = 0; cpu < ncpus; ++cpu)
    for (const Row& r : kRows)
      if (has_row(r, arch))
        out.push_back({std::string(kCpuDir) + std::to_string(cpu) + std::string(kTopology) +
                           std::string(r.name),
                       mode_of(r)});
  return out;
}

std::optional<std::string> cpu_topology_text(std::string_view path, Arch arch, size_t ncpus) {
  if (!path.starts_with(kCpuDir)) return std::nullopt;
  path.remove_prefix(kCpuDir.size());
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::optional<size_t> cpu = cpu_number(path.substr(0, slash));
  path.remove_prefix(slash);
  if (!cpu || *cpu >= ncpus || !path.starts_with(kTopology)) return std::nullopt;
  path.remove_prefix(kTopology.size());
  for (const Row& r : kRows)
    if (r.name == path && has_row(r, arch)) return row_text(r, *cpu, arch, ncpus);
  return std::nullopt;
}

}  // namespace probesim::emu
