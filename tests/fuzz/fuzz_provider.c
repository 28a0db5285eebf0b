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
        llmbi_chunk ref;
        llmb_status fast = llmbi_decode_chunk((llmb_api)api, s, size, &c, &e);
        /* The fast decoder must say exactly what the jansson one says. */
        llmb_status slow = llmbi_decode_chunk_jansson((llmb_api)api, s, size, &ref, &e);
        /* jansson drops a NUL byte that directly follows a number or a
         * literal (it takes it for the end of its input, then reads on), so
         * it accepts {"a":[1<NUL>]}; the fast decoder refuses any NUL outside
         * a string, as JSON does. Inputs with NUL bytes are compared no further. */
        if (memchr(s, 0, size))
            continue;
        if (fast != slow)
            abort();
        if (fast != LLMB_OK)
            continue;
        if (c.has_content != ref.has_content || c.finished != ref.finished ||
            c.has_usage != ref.has_usage || c.prompt_tokens != ref.prompt_tokens ||
            c.completion_tokens != ref.completion_tokens || c.is_error != ref.is_error ||
            c.error_is_dump != ref.error_is_dump)
            abort();
        /* A message string must come out the same; an error value that is not
         * one is shown as its JSON, which jansson re-formats. */
        if (c.is_error && !c.error_is_dump && strcmp(c.error, ref.error) != 0)
            abort();
        if (c.is_error && strlen(c.error) > LLMBI_ERROR_MESSAGE_MAX)
            abort();
        if (c.has_usage && (c.prompt_tokens < -1 || c.completion_tokens < -1))
            abort();
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
