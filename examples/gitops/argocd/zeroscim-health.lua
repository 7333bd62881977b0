-- Argo CD health check for zeroscim.io kinds (ZeroTenant: Ready; ScimUser, ScimGroup: Synced).
-- Healthy: the condition is True for the current generation. Degraded: it is False for the
-- current generation. Progressing: no status yet, an older generation, or Unknown.
local hs = { status = "Progressing", message = "Waiting for the zero-scim operator" }
local wanted = "Synced"
if obj.kind == "ZeroTenant" then
  wanted = "Ready"
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == wanted then
    local observed = condition.observedGeneration or obj.status.observedGeneration
    local text = (condition.reason or "") .. ": " .. (condition.message or "")
    if generation ~= nil and (observed == nil or observed < generation) then
      hs.message = "Generation " .. generation .. " not yet handled (" .. text .. ")"
      return hs
    end
    if condition.status == "True" then
      hs.status = "Healthy"
    elseif condition.status == "False" then
      hs.status = "Degraded"
    end
    hs.message = text
    return hs
  end
end
hs.message = "Waiting for the " .. wanted .. " condition"
return hs
