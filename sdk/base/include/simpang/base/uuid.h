// Random (version 4, RFC 9562) UUIDs in their lower-case text form, for ids a server assigns
// (an xAPI statement sent without one, a SCIM resource).
//
//   std::string id = simpang::random_uuid();   // "3f2c…-…", 36 characters
#pragma once

#include <string>

namespace simpang {

// Thread rule: any thread (each thread has its own generator, seeded from std::random_device).
std::string random_uuid();

}  // namespace simpang
