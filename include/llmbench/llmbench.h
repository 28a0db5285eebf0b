/*
 * libllmbench: measure how fast LLM inference servers really are.
 * This header includes every public header of the library.
 */
#ifndef LLMBENCH_H
#define LLMBENCH_H

#include "llmbench/common.h"
#include "llmbench/version.h"
#include "llmbench/clock.h"
#include "llmbench/record.h"
#include "llmbench/endpoint.h"
#include "llmbench/schedule.h"
#include "llmbench/runner.h"
#include "llmbench/metrics.h"
#include "llmbench/csv.h"
#include "llmbench/chart.h"
#include "llmbench/mock.h"
#include "llmbench/trace.h"

#endif /* LLMBENCH_H */
