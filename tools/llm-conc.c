/*
 * llm-conc: requests started at a fixed interval, all in flight together.
 */
#include "bench_common.h"

int main(int argc, char **argv)
{
    return tool_bench_main(argc, argv, TOOL_MODE_CONCURRENT);
}
