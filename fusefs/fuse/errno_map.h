// ToErrno: the one map from a Status to the errno the kernel is answered
// with; the FUSE ops are its only users (see compress/status.h).
// Thread-safety: a pure function.
#pragma once

#include "compress/status.h"

namespace tierfs {

// The errno (positive) for s: the one it carries, else its code's; 0 for OK.
int ToErrno(const Status& s);

}  // namespace tierfs
