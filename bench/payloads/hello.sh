#!/bin/sh
# Scenario 2: the same answer from a shell script (the cost of starting /bin/sh).
printf 'Content-Type: text/plain\r\n\r\nHello, world!\n'
