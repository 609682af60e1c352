-- wrk script: each request GETs one of the docroot's 1,000 small files, picked at random.
-- Names match docroot.mjs: /files/NNN.EXT, NNN = 000..999, EXT = css, js, txt by NNN % 3.
-- The requests are built in init(), after wrk has set the Host header; the seed is fixed so
-- that every server gets the same sequence.
local requests = {}

function init(args)
  local exts = { "css", "js", "txt" }
  for i = 0, 999 do
    requests[i + 1] = wrk.format("GET", string.format("/files/%03d.%s", i, exts[(i % 3) + 1]))
  end
  math.randomseed(20240601)
end

function request()
  return requests[math.random(1, #requests)]
end
