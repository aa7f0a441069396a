#include "cli/explore_dask.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cli/run_options.h"

namespace probesim::cli {
namespace {

constexpr int kExecFailed = 127;

std::string python_interpreter() {
  const char* p = std::getenv("PROBESIM_PYTHON");
  return p && *p ? p : "python3";
}

Result<std::string> self_and_cwd(std::string* cwd) {
  char self[PATH_MAX], dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Error::make(std::string("explore --dask: /proc/self/exe: ") + std::strerror(errno));
  if (!getcwd(dir, sizeof dir)) return Error::make(std::string("explore --dask: getcwd: ") + std::strerror(errno));
  *cwd = dir;
  return std::string(self, static_cast<size_t>(n));
}

// Runs argv with its stdout into *out (stderr passes through); returns its wait status.
Result<int> run_capturing(const std::vector<std::string>& argv, std::string* out) {
  int fds[2];
  if (pipe(fds) != 0) return Error::make(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Error::make(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "probesim: explore --dask: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(kExecFailed);
  }
  close(fds[1]);
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n > 0) out->append(buf, static_cast<size_t>(n));
    else if (errno != EINTR) break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

Result<std::optional<uint64_t>> dask_search(const ExploreOptions& o, Arch arch, const std::string& strategy,
                                            const std::string& part) {
  std::string cwd;
  std::string self = PROBESIM_TRY(self_and_cwd(&cwd));
  std::string python = python_interpreter();
  std::vector<std::string> argv = {python, "-m", "probesim.explore_dask", "--scheduler", o.dask, "--cli", self,
                                   "--cwd", cwd, "--from", std::to_string(o.first_run), "--runs",
                                   std::to_string(o.runs), "--save", part, "--"};
  for (std::string& a : batch_arguments(o, arch, strategy, guest_env(o.env, o.env_clear))) argv.push_back(std::move(a));
  std::string out;
  int status = PROBESIM_TRY(run_capturing(argv, &out));
  // The driver's own exit statuses (explore_dask.py main): 4 the scheduler is unreachable, 5 a
  // batch failed; it said why on stderr. Anything else: the driver itself could not run.
  if (WIFEXITED(status) && (WEXITSTATUS(status) == 4 || WEXITSTATUS(status) == 5))
    return Error::make("explore --dask: the search on the Dask cluster " + o.dask + " failed");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::make("explore --dask: the Dask driver `" + python + " -m probesim.explore_dask` failed (status " +
                       std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                       "): it needs a Python with the probesim package and dask.distributed (Debian: "
                       "python3-distributed); set PROBESIM_PYTHON (e.g. to the venv's python), or use "
                       "probesim.explore(..., client=) from Python");
  uint64_t run = 0, done = 0;
  if (std::sscanf(out.c_str(), "first-failure %" SCNu64 " %" SCNu64, &run, &done) == 2) {
    std::fprintf(stderr, "probesim: explore: %" PRIu64 " schedules run on the Dask cluster %s\n", done, o.dask.c_str());
    return std::optional<uint64_t>{run};
  }
  if (std::sscanf(out.c_str(), "no-failure %" SCNu64, &done) == 1) {
    std::fprintf(stderr, "probesim: explore: %" PRIu64 " schedules run on the Dask cluster %s\n", done, o.dask.c_str());
    return std::optional<uint64_t>{};
  }
  return Error::make("explore --dask: the Dask driver said '" + out + "', not first-failure/no-failure");
}

}  // namespace probesim::cli
