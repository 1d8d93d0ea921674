#!/usr/bin/env sh
# Print the path of the interpreter matching the Lambda runtime (python3.13):
# pyenv's install when pyenv is present, otherwise whatever is on PATH.
want="${1:-3.13}"
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in "$root"/versions/"$want" "$root"/versions/"$want".*; do
    if [ -x "$dir/bin/python$want" ]; then echo "$dir/bin/python$want"; exit 0; fi
  done
fi
if command -v "python$want" >/dev/null 2>&1; then command -v "python$want"; exit 0; fi
echo "python$want not found: install it (pyenv install $want) or put it on PATH" >&2
exit 1
