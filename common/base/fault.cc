// Fault injection registry (fault.h). Compiled only into TERN_FAULT_INJECTION
// builds: release binaries contain no way to make a sync fail on purpose.
#ifdef TERN_FAULT_INJECTION

#include "common/base/fault.h"

#include <array>
#include <mutex>

namespace tern::fault {
namespace {

struct Arming {
  int skip = 0;
  int err = 0;
  int count = 0;
};

constexpr size_t kPoints = 3;  // Point::kFsync, kRename, kWrite

struct Registry {
  std::mutex mu;
  std::array<Arming, kPoints> points;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: worker threads may sync at exit
  return *r;
}

size_t index(Point point) { return static_cast<size_t>(point); }

}  // namespace

void arm(Point point, int err, int count) { arm_after(point, 0, err, count); }

void arm_after(Point point, int skip, int err, int count) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.points[index(point)] = Arming{skip > 0 ? skip : 0, err, count > 0 ? count : 0};
}

void disarm_all() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.points.fill(Arming{});
}

int check(Point point) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  Arming& a = r.points[index(point)];
  if (a.count <= 0) return 0;
  if (a.skip > 0) {
    --a.skip;
    return 0;
  }
  --a.count;
  return a.err;
}

}  // namespace tern::fault

#endif  // TERN_FAULT_INJECTION
