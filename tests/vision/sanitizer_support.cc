// Linked into the vision tests of AddressSanitizer builds that have OpenVINO.
#include <dlfcn.h>

// oneTBB (used by OpenVINO's CPU plugin) dlopens libtbbbind with RTLD_DEEPBIND, which ASan
// refuses by aborting the process (github.com/google/sanitizers/issues/611). This dlopen, found
// before ASan's in symbol lookup, drops that flag and forwards to the next dlopen (ASan's
// interceptor, then libc's).
extern "C" void* dlopen(const char* file, int mode) {  // NOLINT
  using DlopenFn = void* (*)(const char*, int);
  static const auto next = reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));  // NOLINT
  return next(file, mode & ~RTLD_DEEPBIND);
}

// OpenVINO's thread-local executor state is still allocated at exit; it is not ours to free.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT
  return "leak:libopenvino.so\nleak:libopenvino_intel_cpu_plugin.so\nleak:libtbb.so\n";
}
