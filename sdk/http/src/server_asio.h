// The one way the HTTP library includes Boost.Asio and Beast.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, which g++ 12 in
// C++20 mode rejects; including <utility> first fixes it for every file that comes through here.
#pragma once

// clang-format off
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on
