#pragma once
// A wake-up ("trigger", as Postfix calls it): connect to a service's unix
// socket, write one byte, close. Never blocks: a service that is not
// listening, or whose queue is full, simply misses this wake-up and finds
// the work on its next periodic scan.

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::server {

Status trigger(const std::string& socket_path, char what = 'W');
// The same with a few bytes (one send; qmgr's "S<site>\n", qmgr/main.cc).
Status trigger(const std::string& socket_path, std::string_view request);

}  // namespace tern::server
