int llmb_tool_placeholder(void); int llmb_tool_placeholder(void) { return 0; }
