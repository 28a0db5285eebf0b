int llmb_tool_placeholder2(void); int llmb_tool_placeholder2(void) { return 0; }
