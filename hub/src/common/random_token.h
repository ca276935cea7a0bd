// Unguessable tokens: what the hub issues to each run of an instance it starts (see the Hello's
// token in wire.proto), so identity comes from the hub, never from a name a peer chooses.
#pragma once

#include <string>

namespace simpang::hub {

// 32 lower-case hex digits of 128 bits from the kernel's random source (getrandom). Throws
// std::runtime_error when the kernel cannot give them (start-up and instance creation only).
std::string random_token();

}  // namespace simpang::hub
