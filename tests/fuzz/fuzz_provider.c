/*
 * Fuzz target: the provider decoders (chat and completions chunks, error
 * bodies, model lists). Any bytes must decode or fail cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    llmbi_chunk c;
    llmb_error e;
    char msg[LLMBI_ERROR_MESSAGE_MAX + 1];
    char *id;

    for (int api = 0; api < LLMB_API_COUNT_; api++) {
        if (llmbi_decode_chunk((llmb_api)api, s, size, &c, &e) == LLMB_OK) {
            if (c.is_error && strlen(c.error) > LLMBI_ERROR_MESSAGE_MAX)
                abort();
            if (c.has_usage && (c.prompt_tokens < -1 || c.completion_tokens < -1))
                abort();
        }
    }
    llmbi_error_message(s, size, msg, sizeof msg);
    if (strlen(msg) >= sizeof msg)
        abort();
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            abort(); /* messages are one line */
    id = llmbi_models_first_id(s, size, &e);
    free(id);
    return 0;
}
