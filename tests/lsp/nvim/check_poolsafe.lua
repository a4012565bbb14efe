-- Driven by tests/lsp/test_neovim.py: Neovim's built-in LSP client against
-- `poolsafe server`, set up by the init.lua block docs/editors.md shows for the
-- installed Neovim (POOLSAFE_INIT, its command pointed at this checkout's
-- server). Writes what it saw as JSON.
local out = { diagnostics = {}, actions = {}, errors = {} }
local root = vim.env.POOLSAFE_PROJECT

local function main()
  dofile(vim.env.POOLSAFE_INIT)  -- the documented configuration
  vim.cmd('filetype on')         -- (-u NONE turns detection off; init.lua users have it)
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/app.py'))
  local buf = vim.api.nvim_get_current_buf()
  out.clients = {}
  local attached = vim.wait(30000, function()
    return #vim.lsp.get_active_clients({ bufnr = buf }) > 0
  end, 50)
  for _, client in ipairs(vim.lsp.get_active_clients({ bufnr = buf })) do
    table.insert(out.clients, { name = client.name, root_dir = client.config.root_dir })
  end
  if not attached then error('the documented configuration attached no client') end
  out.got_diagnostics = vim.wait(60000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out.diagnostics, {
      code = d.code, lnum = d.lnum, col = d.col, source = d.source,
      severity = d.severity, message = d.message,
    })
  end
  local d = vim.diagnostic.get(buf)[1]
  if d == nil then return end
  local uri = vim.uri_from_bufnr(buf)
  local range = {
    start = { line = d.lnum, character = d.col },
    ['end'] = { line = d.end_lnum, character = d.end_col },
  }
  local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover', {
    textDocument = { uri = uri }, position = range.start,
  }, 30000)
  for _, response in pairs(hover or {}) do
    if response.result then out.hover = response.result.contents.value end
  end
  local results = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', {
    textDocument = { uri = uri }, range = range, context = { diagnostics = {} },
  }, 30000)
  local fix
  for _, response in pairs(results or {}) do
    for _, action in ipairs(response.result or {}) do
      table.insert(out.actions, action.title)
      if action.kind == 'quickfix' and action.isPreferred then fix = action end
    end
  end
  if fix == nil then return end
  vim.lsp.util.apply_workspace_edit(fix.edit, 'utf-16')
  out.fixed_text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  -- the change goes to the server; its diagnostics for the fixed buffer: none
  out.cleared = vim.wait(60000, function()
    return #vim.diagnostic.get(buf) == 0
  end, 50)
end

local ok, err = pcall(main)
if not ok then table.insert(out.errors, tostring(err)) end
vim.fn.writefile({ vim.fn.json_encode(out) }, vim.env.POOLSAFE_OUT)
vim.cmd('qall!')
