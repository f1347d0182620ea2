// Placeholder: the locator is being written (issue 3).
#include "wangge/grid/locator.hpp"
