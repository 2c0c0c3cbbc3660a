// Fault injection registry (fault.h). Compiled only into TERN_FAULT_INJECTION
// builds: release binaries contain no way to make a sync fail on purpose.
#ifdef TERN_FAULT_INJECTION

#include "common/base/fault.h"

#include <array>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/base/strings.h"
#include <mutex>

namespace tern::fault {
namespace {

struct Arming {
  int skip = 0;
  int err = 0;
  int count = 0;
};

constexpr size_t kPoints = static_cast<size_t>(Point::kCount);

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

bool arm_from_environment() {
  const char* env = std::getenv("TERN_FAULTS");
  if (!env || !*env) return true;
  struct Item {
    Point point;
    int err, count, skip;
  };
  std::vector<Item> items;
  for (auto spec : split(env, ',')) {
    auto f = split(spec, ':');
    if (f.size() < 3 || f.size() > 4) return false;
    Item it{};
    if (f[0] == "fsync") it.point = Point::kFsync;
    else if (f[0] == "rename") it.point = Point::kRename;
    else if (f[0] == "write") it.point = Point::kWrite;
    else if (f[0] == "inotify") it.point = Point::kInotify;
    else return false;
    auto err = parse_int(f[1]), count = parse_int(f[2]);
    auto skip = f.size() == 4 ? parse_int(f[3]) : std::optional<long long>(0);
    if (!err || !count || !skip || *err <= 0 || *count <= 0 || *skip < 0) return false;
    it.err = static_cast<int>(*err);
    it.count = static_cast<int>(*count);
    it.skip = static_cast<int>(*skip);
    items.push_back(it);
  }
  for (auto& it : items) arm_after(it.point, it.skip, it.err, it.count);
  return true;
}

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
