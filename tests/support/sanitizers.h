// kThreadSanitizer: whether this test binary is built with ThreadSanitizer.
//
// librocksdb is not built with ThreadSanitizer: its memtable publishes
// entries through atomics TSan cannot see, so a query racing the follower's
// writes looks like a data race to TSan. Tests of that race skip under TSan
// (`* doctest::skip(kThreadSanitizer)`).
#pragma once

namespace reservoir::test {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace reservoir::test
