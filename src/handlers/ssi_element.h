// The SSI element <!--#python eval="..."--> / <!--#python exec="..."--> (spec §2.7), registered
// with mod_include when it is loaded.
#pragma once

namespace mp::handlers {

// post_config: registers the element if mod_include is present.
void register_ssi_element() noexcept;

}  // namespace mp::handlers
