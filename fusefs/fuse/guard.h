// Catching: runs an operation body and turns a stray exception into an
// errno for one error path — ENOMEM for bad_alloc, EIO for anything else,
// logged — so that no exception crosses into libfuse. request.h builds
// its per-op guards on it (Guarded replies with the errno; GuardedNoReply,
// for forget, which takes no reply, replies with none).
// Thread-safety: a pure function template.
#pragma once

#include <spdlog/spdlog.h>

#include <cerrno>
#include <exception>
#include <new>

namespace tierfs {

template <class F, class E>
void Catching(const char* op, F&& body, E&& on_error) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    spdlog::error("{}: out of memory", op);
    on_error(ENOMEM);
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected exception: {}", op, e.what());
    on_error(EIO);
  } catch (...) {
    spdlog::error("{}: unexpected exception", op);
    on_error(EIO);
  }
}

}  // namespace tierfs
