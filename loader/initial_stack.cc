#include "loader/initial_stack.h"

#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "loader/loader_error.h"
#include "probesim/assert.h"

namespace probesim::loader {
namespace {

constexpr uint64_t kMaxArgStrlen = 32 * 4096;  // MAX_ARG_STRLEN (include/uapi/linux/binfmts.h)
constexpr uint64_t kStkLim = 8 << 20;          // _STK_LIM
constexpr uint64_t kArgMax = 131072;           // ARG_MAX
constexpr uint64_t kWord = sizeof(uint64_t);

// The guest sees C strings: anything after an embedded NUL is not part of the argument.
std::string_view cstr(const std::string& s) {
  return std::string_view(s.c_str());
}

Error e2big(const ExecParams& p, const std::string& what) {
  return Error::make(p.execfn + ": " + what, E2BIG);
}

Error einval(const ExecParams& p, const std::string& what) {
  return Error::make(p.execfn + ": " + what, EINVAL);
}

Result<void> check_params(const ExecParams& p) {
  if (!page_aligned(p.stack_top.value) || !page_aligned(p.stack_size) || p.stack_size == 0 ||
      p.stack_top.value < p.stack_size)
    return einval(p, "bad stack parameters (stack_top " + hex(p.stack_top.value) + ", stack_size " +
                         hex(p.stack_size) +
                         "): both must be page aligned and the stack must fit below its top");
  return {};
}

// bprm_stack_limits() and copy_strings()'s per-string limit.
Result<void> check_limits(const ExecParams& p, const std::vector<std::string>& argv) {
  uint64_t limit = std::max(std::min(kStkLim / 4 * 3, p.stack_size / 4), kArgMax);
  uint64_t ptrs = (argv.size() + p.envp.size()) * kWord;
  std::string rule = " bytes allowed for a " + std::to_string(p.stack_size) +
                     "-byte stack (Linux's bprm_stack_limits): shorten argv/envp or raise "
                     "stack_size";
  if (limit <= ptrs)
    return e2big(p, std::to_string(argv.size() + p.envp.size()) +
                        " argv/envp pointers exceed "
                        "the " +
                        std::to_string(limit) + rule);
  uint64_t total = 0;
  auto add = [&](const std::string& s, const char* kind) -> Result<void> {
    uint64_t len = cstr(s).size() + 1;
    if (len > kMaxArgStrlen)
      return e2big(p, std::string("an ") + kind + " string is " + std::to_string(len) +
                          " bytes, more than Linux's MAX_ARG_STRLEN (131072)");
    total += len;
    return {};
  };
  PROBESIM_TRY_VOID(add(p.execfn, "execfn"));
  for (const std::string& s : p.envp) PROBESIM_TRY_VOID(add(s, "envp"));
  for (const std::string& s : argv) PROBESIM_TRY_VOID(add(s, "argv"));
  if (total > limit - ptrs)
    return e2big(p, "argv/envp strings take " + std::to_string(total) + " bytes, more than the " +
                        std::to_string(limit - ptrs) + rule);
  return {};
}

// Strings pushed down from pos, the last one first (copy_strings): returns their addresses.
std::vector<uint64_t> push_strings(uint64_t& pos, const std::vector<std::string>& v) {
  std::vector<uint64_t> at(v.size());
  for (size_t i = v.size(); i-- > 0;) {
    pos -= cstr(v[i]).size() + 1;
    at[i] = pos;
  }
  return at;
}

// create_elf_tables()'s NEW_AUX_ENT sequence: ARCH_DLINFO first (x86_64 and arm64: the vDSO's
// AT_SYSINFO_EHDR when there is one; AT_MINSIGSTKSZ left out), then the generic entries.
// Left out: Linux 6.3+'s AT_RSEQ_FEATURE_SIZE/AT_RSEQ_ALIGN.
std::vector<std::pair<uint64_t, uint64_t>> make_auxv(const ExecParams& p, const AuxvImage& img,
                                                     uint64_t random, uint64_t execfn,
                                                     uint64_t platform) {
  std::vector<std::pair<uint64_t, uint64_t>> auxv;
  if (img.sysinfo_ehdr.value != 0) auxv.emplace_back(AT_SYSINFO_EHDR, img.sysinfo_ehdr.value);
  const std::pair<uint64_t, uint64_t> generic[] = {
      {AT_HWCAP, p.hwcap},
      {AT_PAGESZ, kPageSize},
      {AT_CLKTCK, p.clktck},
      {AT_PHDR, img.phdr.value},
      {AT_PHENT, sizeof(Elf64_Phdr)},
      {AT_PHNUM, img.phnum},
      {AT_BASE, img.base.value},
      {AT_FLAGS, 0},
      {AT_ENTRY, img.entry.value},
      {AT_UID, p.uid},
      {AT_EUID, p.euid},
      {AT_GID, p.gid},
      {AT_EGID, p.egid},
      {AT_SECURE, p.secure ? 1u : 0u},
      {AT_RANDOM, random},
      {AT_HWCAP2, p.hwcap2},  // x86_64 and arm64 both define ELF_HWCAP2: always present
      {AT_EXECFN, execfn},
      {AT_PLATFORM, platform},
      {AT_NULL, 0},
  };
  auxv.insert(auxv.end(), std::begin(generic), std::end(generic));
  return auxv;
}

}  // namespace

void InitialStack::put(GuestAddr at, const void* src, size_t n) {
  PROBESIM_ASSERT(at.value >= sp_.value && at.value + n <= top_.value);
  std::memcpy(bytes_.data() + (at.value - sp_.value), src, n);
}

void InitialStack::put_string(GuestAddr at, const std::string& s) {
  put(at, s.c_str(), cstr(s).size() + 1);
}

Result<InitialStack> InitialStack::build(const ExecParams& p, Arch arch, const AuxvImage& img) {
  PROBESIM_TRY_VOID(check_params(p));
  std::vector<std::string> argv = p.argv.empty() ? std::vector<std::string>{""} : p.argv;
  PROBESIM_TRY_VOID(check_limits(p, argv));
  std::string platform = p.platform.empty() ? std::string(arch_name(arch)) : p.platform;

  InitialStack st;
  st.top_ = p.stack_top;
  uint64_t pos = p.stack_top.value - kWord;  // end marker
  pos -= cstr(p.execfn).size() + 1;
  st.execfn_ = st.env_end_ = GuestAddr{pos};
  st.env_ptrs_ = push_strings(pos, p.envp);
  st.arg_end_ = GuestAddr{pos};
  st.arg_ptrs_ = push_strings(pos, argv);
  st.arg_start_ = GuestAddr{pos};
  pos &= ~uint64_t{15};  // arch_align_stack() without randomization
  pos -= cstr(platform).size() + 1;
  st.platform_ = GuestAddr{pos};
  pos -= p.at_random.size();
  st.random_ = GuestAddr{pos};
  st.auxv_ = make_auxv(p, img, st.random_.value, st.execfn_.value, st.platform_.value);
  uint64_t items = (argv.size() + 1) + (p.envp.size() + 1) + 1;  // argc, argv+NULL, envp+NULL
  st.sp_ = GuestAddr{(pos - (st.auxv_.size() * 2 + items) * kWord) & ~uint64_t{15}};
  if (p.stack_top - st.sp_ > p.stack_size)
    return e2big(p, "the initial stack needs " + std::to_string(p.stack_top - st.sp_) +
                        " bytes, more than stack_size " + std::to_string(p.stack_size));
  st.write(p, argv, platform);
  return st;
}

void InitialStack::write(const ExecParams& p, const std::vector<std::string>& argv,
                         const std::string& platform) {
  bytes_.assign(top_ - sp_, 0);
  put_string(execfn_, p.execfn);
  for (size_t i = 0; i < env_ptrs_.size(); ++i) put_string(GuestAddr{env_ptrs_[i]}, p.envp[i]);
  for (size_t i = 0; i < arg_ptrs_.size(); ++i) put_string(GuestAddr{arg_ptrs_[i]}, argv[i]);
  put_string(platform_, platform);
  put(random_, p.at_random.data(), p.at_random.size());
  GuestAddr w = sp_;
  auto push = [&](uint64_t v) {
    put_word(w, v);
    w += kWord;
  };
  push(argv.size());
  for (uint64_t a : arg_ptrs_) push(a);
  push(0);
  for (uint64_t e : env_ptrs_) push(e);
  push(0);
  for (auto [type, val] : auxv_) {
    push(type);
    push(val);
  }
}

}  // namespace probesim::loader
