#include "cli/explore_options.h"

#include <cerrno>
#include <cstdlib>
#include <regex>
#include <string_view>

#include "cli/run_options.h"  // parse_virtual_duration

namespace probesim::cli {
namespace {

Result<uint64_t> number(std::string_view flag, const std::string& v, uint64_t min, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-' || n < min || n > max)
    return Error::make(std::string(flag) + " needs an integer in [" + std::to_string(min) + ", " +
                       std::to_string(max) + "], got '" + v + "'");
  return static_cast<uint64_t>(n);
}

}  // namespace

Result<ExploreOptions> parse_explore_options(int argc, const char* const* argv) {
  ExploreOptions o;
  int i = 2;  // after "probesim explore"
  auto value = [&](std::string_view flag) -> Result<std::string> {
    if (i + 1 >= argc) return Error::make(std::string(flag) + " needs a value");
    return std::string(argv[++i]);
  };
  int untils = 0;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--strategy") {
      o.strategy = PROBESIM_TRY(value(a));
      if (o.strategy != "random" && !o.strategy.starts_with("pct:") && !o.strategy.starts_with("bounded:"))
        return Error::make("--strategy must be random, pct:D[:STEPS[:POINTS]] or bounded:K[:STEPS[:TASKS[:POINTS]]], got '" +
                           o.strategy + "'");
    } else if (a == "--runs") o.runs = PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 1, 1'000'000'000));
    else if (a == "--from") o.first_run = PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 0, ~0ull >> 1));
    else if (a == "--seed") o.seed = PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 0, ~0ull));
    else if (a == "--jobs") o.jobs = static_cast<unsigned>(PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 1, 256)));
    else if (a == "--dask") {
      o.dask = PROBESIM_TRY(value(a));
      if (o.dask.empty()) return Error::make("--dask needs the Dask scheduler's address");
    } else if (a == "--cpus") o.cpus = PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 1, 64));
    else if (a == "--quantum") o.quantum = PROBESIM_TRY(number(a, PROBESIM_TRY(value(a)), 1, ~0ull));
    else if (a == "--root") o.root = PROBESIM_TRY(value(a));
    else if (a == "--save") o.save = PROBESIM_TRY(value(a));
    else if (a == "--no-shrink") o.shrink = false;
    else if (a == "--env") o.env.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--env-clear") o.env_clear = true;
    else if (a == "--arch") {
      std::string v = PROBESIM_TRY(value(a));
      if (v == "x86_64") o.arch = Arch::X86_64;
      else if (v == "aarch64") o.arch = Arch::AArch64;
      else if (v != "auto") return Error::make("--arch must be auto, x86_64 or aarch64, got '" + v + "'");
    } else if (a == "--until") {
      std::string v = PROBESIM_TRY(value(a));
      if (v != "exit!=0") return Error::make("--until understands 'exit!=0', got '" + v + "'");
      o.until = ExploreOptions::Until::ExitNonZero, ++untils;
    } else if (a == "--until-stdout") {
      o.stdout_regex = PROBESIM_TRY(value(a));
      try {
        std::regex re(o.stdout_regex);
      } catch (const std::regex_error& e) {
        return Error::make("--until-stdout: bad regular expression '" + o.stdout_regex + "': " + e.what());
      }
      o.until = ExploreOptions::Until::Stdout, ++untils;
    } else if (a == "--until-signal") o.until = ExploreOptions::Until::Signal, ++untils;
    else if (a == "--until-deadlock") o.until = ExploreOptions::Until::Deadlock, ++untils;
    else if (a == "--until-invariant") o.until = ExploreOptions::Until::Invariant, ++untils;
    else if (a == "--uprobe") o.uprobes.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--kprobe") o.kprobes.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--bug") o.bugs.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--optimize-delay")
      o.optimize_delay_ns = PROBESIM_TRY(parse_virtual_duration(a, PROBESIM_TRY(value(a))));
    else if (a.starts_with("-")) return Error::make("unknown explore option '" + std::string(a) + "'");
    else break;
  }
  for (; i < argc; ++i) o.argv.emplace_back(argv[i]);
  if (untils > 1) return Error::make("give one --until condition");
  if (!o.dask.empty() && o.jobs != 1) return Error::make("give --jobs or --dask, not both");
  if (o.argv.empty()) return Error::make("explore: no program given");
  return o;
}

std::vector<std::string> batch_arguments(const ExploreOptions& o, Arch arch, const std::string& strategy,
                                         const std::vector<std::string>& env) {
  static constexpr const char* kUntil[] = {"--until", "--until-stdout", "--until-signal",
                                           "--until-deadlock", "--until-invariant"};
  std::vector<std::string> a = {"--strategy", strategy, "--seed", std::to_string(o.seed),
                                kUntil[static_cast<int>(o.until)]};
  if (o.until == ExploreOptions::Until::ExitNonZero) a.emplace_back("exit!=0");
  if (o.until == ExploreOptions::Until::Stdout) a.push_back(o.stdout_regex);
  for (const std::string& u : o.uprobes) a.insert(a.end(), {"--uprobe", u});
  for (const std::string& k : o.kprobes) a.insert(a.end(), {"--kprobe", k});
  for (const std::string& b : o.bugs) a.insert(a.end(), {"--bug", b});
  if (o.optimize_delay_ns != ExploreOptions{}.optimize_delay_ns)
    a.insert(a.end(), {"--optimize-delay", std::to_string(o.optimize_delay_ns) + "ns"});
  a.insert(a.end(), {"--arch", std::string(arch_name(arch)), "--root", o.root, "--cpus", std::to_string(o.cpus), "--quantum",
                     std::to_string(o.quantum), "--env-clear"});
  for (const std::string& e : env) a.insert(a.end(), {"--env", e});
  a.emplace_back("--");
  a.insert(a.end(), o.argv.begin(), o.argv.end());
  return a;
}

}  // namespace probesim::cli
