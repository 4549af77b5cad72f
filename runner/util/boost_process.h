#pragma once
// Boost.Process v2 as shipped in Boost 1.81 uses boost::optional, Boost.TypeTraits,
// boost::io::quoted and <type_traits> without including them; include
// Boost.Process only through this header.

#include <type_traits>

#include <boost/io/quoted.hpp>
#include <boost/type_traits.hpp>
#include <boost/optional.hpp>
#include <boost/asio.hpp>
#include <boost/process/v2.hpp>
