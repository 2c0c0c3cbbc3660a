#pragma once
// Fault injection for tests (TERN_FAULT_INJECTION=ON builds only): arm a
// fault and the next N matching calls fail with the given errno. In builds
// without the option every check is a constant false and compiles away.

namespace tern::fault {

enum class Point { kFsync, kRename, kWrite, kInotify, kCount };  // kCount: the number of points

#ifdef TERN_FAULT_INJECTION
// The next `count` calls at `point` fail with `err`.
void arm(Point point, int err, int count = 1);
// The next `skip` calls at `point` proceed, then `count` calls fail with
// `err` (e.g. let the file's fsync pass and fail the directory's).
void arm_after(Point point, int skip, int err, int count = 1);
void disarm_all();
// Arms what the environment variable TERN_FAULTS asks for, so integration
// tests can fail a step inside a running daemon: a comma-separated list of
// point:errno:count[:skip], point one of fsync, rename, write, inotify (e.g.
// "fsync:5:1" fails the next fsync with EIO). Returns false for a malformed
// value (nothing is armed then).
bool arm_from_environment();
// Returns the errno to fail with, or 0 to proceed; consumes one arming.
int check(Point point);
#else
inline int check(Point) { return 0; }
#endif

}  // namespace tern::fault
