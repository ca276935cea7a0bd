// Status and StatusOr under the SDK's older spelling. They live in the base library
// (simpang/base/status.h); this header keeps plugin code and the examples that include
// simpang/sdk/status.h compiling: `simpang::Status` as before, and `simpang::sdk::Status` /
// `simpang::sdk::StatusOr` as the same types. It ships with the base library (installed at the
// same path as before), so code that links only simpang::base can include it too.
#pragma once

#include "simpang/base/status.h"

namespace simpang::sdk {

using ::simpang::Status;
using ::simpang::StatusOr;

}  // namespace simpang::sdk
