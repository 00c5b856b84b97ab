// The whole public mixq API.
#pragma once

#include "mixq/analysis.h"
#include "mixq/builder.h"
#include "mixq/calibrator.h"
#include "mixq/network.h"
#include "mixq/parser.h"
#include "mixq/runtime.h"
#include "mixq/tune.h"
#include "mixq/types.h"
