// Clang thread-safety annotations (-Wthread-safety), as in leveldb's
// port/thread_annotations.h: they state which mutex guards a field and which
// locks a function needs, takes or must not hold, and clang checks every
// access and call against them at compile time. On other compilers (gcc)
// they expand to nothing. https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
//
// libstdc++'s std::mutex, std::shared_mutex and lock guards carry no
// annotations, so the analysis sees nothing through them: store/ locks with
// the annotated wrappers of store/mutex.h instead.
#pragma once

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(capability)
#define TIERFS_THREAD_ANNOTATION_(x) __attribute__((x))
#endif
#endif
#ifndef TIERFS_THREAD_ANNOTATION_
#define TIERFS_THREAD_ANNOTATION_(x)  // no-op
#endif

// A class that is a lock ("mutex", "shared_mutex").
#ifndef CAPABILITY
#define CAPABILITY(x) TIERFS_THREAD_ANNOTATION_(capability(x))
#endif

// An RAII class that holds the locks its constructor acquires until its
// destructor runs.
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY TIERFS_THREAD_ANNOTATION_(scoped_lockable)
#endif

// A field read or written only with lock x held (shared suffices to read).
#ifndef GUARDED_BY
#define GUARDED_BY(x) TIERFS_THREAD_ANNOTATION_(guarded_by(x))
#endif

// A pointer (or smart pointer) whose pointee is guarded by x.
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) TIERFS_THREAD_ANNOTATION_(pt_guarded_by(x))
#endif

// Lock ordering (checked with -Wthread-safety-beta only).
#ifndef ACQUIRED_BEFORE
#define ACQUIRED_BEFORE(...) TIERFS_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#endif
#ifndef ACQUIRED_AFTER
#define ACQUIRED_AFTER(...) TIERFS_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#endif

// The caller must hold the locks, exclusive / at least shared.
#ifndef REQUIRES
#define REQUIRES(...) TIERFS_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#endif
#ifndef REQUIRES_SHARED
#define REQUIRES_SHARED(...) TIERFS_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
#endif

// The function acquires / releases the locks (with no argument: `this`).
#ifndef ACQUIRE
#define ACQUIRE(...) TIERFS_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE_SHARED
#define ACQUIRE_SHARED(...) TIERFS_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) TIERFS_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_SHARED
#define RELEASE_SHARED(...) TIERFS_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
#endif

// Acquires the locks when it returns the first argument (true/false).
#ifndef TRY_ACQUIRE
#define TRY_ACQUIRE(...) TIERFS_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#endif
#ifndef TRY_ACQUIRE_SHARED
#define TRY_ACQUIRE_SHARED(...) \
  TIERFS_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))
#endif

// The caller must not hold the locks (the function takes them: a
// non-recursive mutex would deadlock).
#ifndef EXCLUDES
#define EXCLUDES(...) TIERFS_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#endif

// Tells the analysis that the lock is held here (checked at run time, if
// at all, by the function itself).
#ifndef ASSERT_CAPABILITY
#define ASSERT_CAPABILITY(x) TIERFS_THREAD_ANNOTATION_(assert_capability(x))
#endif
#ifndef ASSERT_SHARED_CAPABILITY
#define ASSERT_SHARED_CAPABILITY(x) TIERFS_THREAD_ANNOTATION_(assert_shared_capability(x))
#endif

// The function returns a reference to lock x (a getter).
#ifndef RETURN_CAPABILITY
#define RETURN_CAPABILITY(x) TIERFS_THREAD_ANNOTATION_(lock_returned(x))
#endif

// Turns the analysis off for one function. Each use says why the analysis
// cannot follow it.
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS TIERFS_THREAD_ANNOTATION_(no_thread_safety_analysis)
#endif
