/*
 * llm-seq: requests one after another, with a pause between them.
 */
#include "bench_common.h"

int main(int argc, char **argv)
{
    return tool_bench_main(argc, argv, TOOL_MODE_SEQUENTIAL);
}
